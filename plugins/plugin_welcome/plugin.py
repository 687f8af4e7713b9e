"""The welcome step of the onboarding flow: a page, no resources."""

from workflow import Plugin

plugin = Plugin(name="plugin_welcome", route="welcome")
