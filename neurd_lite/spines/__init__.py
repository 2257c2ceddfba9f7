"""neurd_lite.spines"""
