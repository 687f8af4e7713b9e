"""Device provisioning: the person registers a device, stored as a ``Device``."""

import msgspec

from workflow import Plugin


class Device(msgspec.Struct, forbid_unknown_fields=True):
    """A registered device; the engine adds its ``id``."""

    field1: str
    field2: bool


plugin = Plugin(name="plugin_provisioning", route="provision", resources={"device": Device})
