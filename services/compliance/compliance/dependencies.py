"""Compliance's nameko dependencies beside the chassis ones: the database handing each unit of work the bootstrap
administrators, the API-key verification cache, and a timer whose interval is a compliance setting."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from chassis import Database
from compliance.settings import compliance_settings
from compliance.usecases import clients


class ComplianceDatabase(Database):
    """The database dependency, handing the configured bootstrap administrators to each unit of work."""

    def get_dependency(self, worker_ctx):
        uow = super().get_dependency(worker_ctx)
        uow.bootstrap_admins = frozenset(compliance_settings(self.container).bootstrap_admins)
        return uow


class SettingTimer(Timer):
    """nameko's timer, firing every `<setting>` seconds (a compliance setting)."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = float(getattr(compliance_settings(self.container), self.setting))


class ApiKeyCache(DependencyProvider):
    def setup(self):
        self.cache = clients.VerificationCache(compliance_settings(self.container).api_key_cache_seconds)

    def get_dependency(self, worker_ctx):
        return self.cache
