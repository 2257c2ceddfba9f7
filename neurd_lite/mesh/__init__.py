"""neurd_lite.mesh"""
