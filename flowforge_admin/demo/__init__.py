"""Demo flows of Flow Forge: task functions in ``tasks``, registrations in ``flows``."""
