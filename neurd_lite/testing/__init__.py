"""neurd_lite.testing"""
