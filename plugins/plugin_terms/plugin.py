"""The terms step of the onboarding flow: it ends only once the terms are accepted."""

from workflow import Completion, Plugin

ACCEPTED = {"accepted": True}


def accepted(completion: Completion) -> None:
    """Refuse any end of the step but a completion that carries the acceptance."""
    if completion.status != "completed":
        raise ValueError("the terms cannot be skipped; accept them to continue")
    if not isinstance(completion.data, dict) or completion.data.get("accepted") is not True:
        raise ValueError('accept the terms to continue: send data {"accepted": true}')


plugin = Plugin(name="plugin_terms", route="terms", check_completion=accepted)
