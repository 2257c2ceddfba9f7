"""neurd_lite.feature: the feature registry and feature families."""
