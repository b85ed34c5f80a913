"""Errors a caller can act on. Every message names the bad value and the fix."""


class WeirError(Exception):
    """Base class for all Weir errors."""


class ConfigError(WeirError):
    """A setting or flag value is invalid."""


class DataDirError(WeirError):
    """The data directory cannot be created or written."""


class LandingError(WeirError):
    """The landing zone or a batch in it is missing or malformed."""


class AuditChainError(WeirError):
    """The audit log fails verification."""


class KeyringError(WeirError):
    """A key is missing, unreadable or has unsafe permissions."""


class AirflowRunError(WeirError):
    """An embedded Airflow command failed."""


class DbtRunError(WeirError):
    """A dbt command failed (a broken model, a failed test or a contract violation)."""


class PolicyViolation(WeirError):
    """A mart uses a data category its purpose may not use."""


class PublishError(WeirError):
    """Some marts could not be published; the published layer kept their last good version."""


class DpSpecError(WeirError):
    """A DP release spec (privacy/releases.yml) or its input is invalid; nothing was spent."""


class BudgetExceeded(WeirError):
    """A DP release would spend more privacy budget than is left; nothing was spent."""


class QualityGateBlocked(WeirError):
    """A batch failed an error-level quality check and was kept out of the warehouse."""


class UnsafeSqlInput(WeirError):
    """A name or option from outside (mapping, header, parameter) cannot be used in SQL safely."""


class WarehouseLocked(WeirError):
    """Another process holds the warehouse file's lock; close or stop it and run again."""


class ExportEncodingError(LandingError):
    """A landing file is not UTF-8 (e.g. a GBK export); re-encode it and land it again."""


class ModelError(WeirError):
    """A federated training run, model version or score request cannot go ahead."""


class EmptyTrainingSet(ModelError):
    """No user with model_training consent to train on (empty feature mart or no consented users)."""


class TrainingFailed(ModelError):
    """The federated run did not finish; nothing was registered or spent."""


class ArtefactTampered(ModelError):
    """A model file is missing or its SHA-256 differs from the registry's."""


class UnknownModelVersion(ModelError):
    """No registered model version has that name."""
