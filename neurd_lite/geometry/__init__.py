"""Shared geometry below every stage (nm in, nm out unless a name says otherwise).

``stats``: weighted and grouped quantiles. ``depth``: minnie65 cortical depth and its plausible range.
``meshes``: mesh coercion. ``nearest``: exact nearest faces of many points, chunked. ``width``: the cross-section width of a cable around its skeleton.
Modules here import only numpy/scipy/trimesh and the model layer (units, errors), never a stage.
"""
