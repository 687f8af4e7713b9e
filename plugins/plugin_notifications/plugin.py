"""The notifications step of the onboarding flow: a page, no resources."""

from workflow import Plugin

plugin = Plugin(name="plugin_notifications", route="notifications")
