"""neurd_lite.celltype: shipped cell-type models, loading without pickle, prediction."""
