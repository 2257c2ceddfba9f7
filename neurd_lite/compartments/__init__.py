"""neurd_lite.compartments"""
