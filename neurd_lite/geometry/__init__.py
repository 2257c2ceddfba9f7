"""Shared geometry below every stage (nm in, nm out unless a name says otherwise); imports only errors and units.

``stats``: weighted and grouped quantiles, the per-group vote. ``depth``: minnie65 cortical depth and the
cortex range test. ``meshes``: mesh coercion. ``meshgraph``: mesh-graph components and edges. ``width``: the
cross-section width of a cable around its skeleton. ``nearest``: exact nearest faces of points.
"""
