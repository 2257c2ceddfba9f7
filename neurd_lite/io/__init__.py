"""neurd_lite.io"""
