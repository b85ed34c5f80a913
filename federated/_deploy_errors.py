"""Errors of the deployment engine (SuperLink and SuperNodes as separate processes)."""

from weir.errors import WeirError


class FederatedTlsError(WeirError):
    """A TLS certificate or key of the deployment engine is missing, unreadable or mismatched."""


class FederatedDeployError(WeirError):
    """The SuperLink, a SuperNode or the run failed, was refused or timed out; nothing was kept."""
