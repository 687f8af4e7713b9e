"""Device provisioning: the person registers a device, stored as a ``Device``."""

from typing import Annotated

import msgspec

from workflow import Plugin

# The device's name: at least one character that is not white space.
DeviceName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]


class Device(msgspec.Struct, forbid_unknown_fields=True):
    """A registered device; the engine adds its ``id``.

    ``field1`` is the device's name and ``field2`` whether it is managed, by the
    names the provisioning plugin's existing clients use.
    """

    field1: DeviceName
    field2: bool


plugin = Plugin(name="plugin_provisioning", route="provision", resources={"device": Device})
