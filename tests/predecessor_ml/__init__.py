"""The predecessor's (django-flow-forge's) machine-learning example flows, run by this engine.

``simple_ml`` and ``grid_search`` hold its task functions, ``flows`` registers
its two flows with the same names and pipelines.
"""
