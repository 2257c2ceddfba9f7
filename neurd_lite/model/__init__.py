"""Shared model objects below every stage: the frame (up direction, depth range), the working <-> input face
map, the synapse anchors table and the soma extent. Stage packages import these; these import no stage."""
