from django.apps import AppConfig


class SimulatorConfig(AppConfig):
    """Registered only so `manage.py vox_simulator` exists; the simulator itself needs no Django."""

    name = "voxdash.simulator"
    label = "simulator"
    verbose_name = "Vox simulator"
