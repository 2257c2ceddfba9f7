"""Geometry shared by the stages (mesh graphs, nearest faces, weighted quantiles); imports no stage."""
