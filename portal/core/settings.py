"""One typed settings object for the whole portal.

Every field reads from an environment variable with the ``PORTAL_`` prefix
(``PORTAL_DATA_DIR``, ``PORTAL_K_ANONYMITY`` ...) or from a ``.env`` file.
Each field carries a description; the README lists them all and a test fails
when one is missing there.
"""

from __future__ import annotations

import json
import os
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from portal.core import json_input

if TYPE_CHECKING:
    from portal.core.lake_location import LakeLocation

# Bounds of numeric settings (the README's settings table states them). Beyond them a value is a mistake that
# would surface as an overflow deep in a page: epsilon 1e-300 printed 9,223,372,036,854,775,807 people.
MIN_DP_EPSILON, MAX_DP_EPSILON = 0.01, 10.0
MAX_SESSION_HOURS = 7 * 24.0
_MAX_INT = {"k_anonymity": 1000, "telemetry_buckets": 1024, "page_size": 1000}
DEFAULT_ROLE_GROUPS = {"works-council": "works_council", "privacy-office": "privacy_office"}
# The ID-token claims whose values PORTAL_ROLE_GROUPS maps to roles (Keycloak, Okta: groups; Entra ID: groups and
# app roles), and the bounds of that setting: a handful of claim names, each a name or a dotted path.
DEFAULT_ROLE_CLAIMS = ("groups", "roles")
MAX_ROLE_CLAIMS, MAX_CLAIM_NAME = 16, 200
# Claims the person or an administrator can change (Entra ID's documentation says so of email, upn and
# preferred_username): matching people by one would let a renamed or re-used account open someone else's record.
MUTABLE_CLAIMS = frozenset({"email", "preferred_username", "upn", "unique_name", "name", "given_name",
                            "family_name", "nickname"})
# Shown when a setting that takes JSON is not JSON.
_JSON_EXAMPLES = {"role_groups": '{"works-council": "works_council"}', "max_principals": '{"performance": 80}'}


class SettingsError(ValueError):
    """The configuration is unusable; the message says which setting and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path("var"),
        description="Directory holding the telemetry lake, the SQLite metadata DB and signing keys.",
    )
    lake_url: str | None = Field(
        None,
        description="Where the telemetry lake lives: empty for the directory `lake` in the data directory, a local "
        "path, or `s3://bucket/prefix` on S3-compatible object storage, whose endpoint and credentials come from "
        "AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ALLOW_HTTP (docs/deployment.md).",
    )
    engine: Literal["local", "ray"] = Field(
        "local",
        description="Where heavy batch work runs (first rollups of new data files, the works council's releases, "
        "verifying a whole lake): `local` (polars in this process) or `ray` (a local Ray cluster, or the one in "
        "RAY_ADDRESS, with Daft reading the Delta tables). Commands take `--engine` to override it.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata DB, e.g. postgresql+psycopg://host/db. "
        "Empty: a SQLite file portal.db in the data directory.",
    )
    k_anonymity: int = Field(
        5, description="Smallest number of distinct people any aggregate shown to the works council may describe (at least 2)."
    )
    dp_epsilon: float | None = Field(
        None, description="If set, differential-privacy noise with this epsilon is added to works-council counts. Empty: off."
    )
    max_session_hours: float = Field(
        8.0, description="Maximum age of a login session in hours; older sessions must sign in again."
    )
    subject_claim: str = Field(
        "sub",
        description="The ID-token claim that identifies a person, matched against the directory's subject "
        "(`employees.oidc_sub`): `sub`, or `oid` for Microsoft Entra ID. A token without it is refused.",
    )
    role_claims: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_ROLE_CLAIMS),
        description="ID-token claims whose values (group names, group ids, role names) PORTAL_ROLE_GROUPS maps "
        "to roles: a JSON list or comma-separated names, e.g. `groups,roles,cognito:groups`; a dotted name is a "
        "path into nested claims (`realm_access.roles`) when no claim has that exact name.",
    )
    role_groups: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ROLE_GROUPS),
        description="JSON object mapping identity-provider group names, group ids or role names (the values of "
        "the PORTAL_ROLE_CLAIMS claims) to portal roles `works_council` or `privacy_office`; it extends the "
        'defaults, and `""` switches a group off.',
    )
    actor_naming: Literal["names", "team_role"] = Field(
        "names", description="How people who read someone's data are shown to that person: `names` or `team_role` only."
    )
    telemetry_buckets: int = Field(
        32, description="Number of subject buckets (Delta partitions) used when a telemetry lake is first created."
    )
    catalog: Path | None = Field(
        None,
        description="The telemetry catalog file (TOML): the categories the company records, their columns, purposes, "
        "legal bases per purpose, retention and readers (docs/catalog.md). Empty: the six demo categories "
        "(portal/core/catalog.toml). Checked at start; `portal catalog check FILE` checks one beforehand.",
    )
    max_principals: dict[str, int] = Field(
        default_factory=dict,
        description="JSON object setting the company's own limit of principals (people and services) who may "
        'read each telemetry category, e.g. {"performance": 80}; a category is named by its catalog key or '
        "its last part. Categories not named keep the catalog's limit. Scoped readers (line managers reading "
        "their direct reports) are not counted against it.",
    )
    page_size: int = Field(50, description="Rows per page in record tables.")
    smtp_url: str | None = Field(
        None,
        description="Where `portal notify run` sends e-mail: `smtp://host:587` (STARTTLS when the server offers it), "
        "`smtp://user:password@host:587` (login, only over STARTTLS), or `smtps://host:465` (TLS from the start). "
        "Empty: no e-mail; notices are only listed on each person's Notifications page.",
    )
    mail_from: str = Field(
        "Telemetry transparency portal <privacy-portal@localhost>",
        description="The From address of the portal's e-mails.",
    )
    public_url: str = Field(
        "http://localhost:8501",
        description="The portal's address as people open it; e-mails link to its pages from here.",
    )
    language: Literal["en", "de"] = Field(
        "en",
        description="The language of e-mails to people who chose none on their Settings page, and of pages "
        "whose browser asks for no language the portal speaks (`en` or `de`).",
    )
    log_origin: str = Field(
        "telemetry-portal.example/access-log",
        description="Origin line of the access log's signed checkpoints; a unique name for this deployment's log.",
    )
    lineage_training_namespaces: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="OpenLineage dataset namespaces that hold training data, as a JSON list or comma-separated, "
        "e.g. `s3://acme-training,bigquery`: an output carrying the portal's facet in another namespace is "
        "skipped as not training data. Empty: the facet alone decides, whatever the namespace.",
    )

    @field_validator("lineage_training_namespaces", mode="before")
    @classmethod
    def _namespaces(cls, value: object) -> list[str]:
        # Matched exactly (s3://bucket, postgres://host:5432), as OpenLineage's naming spec writes namespaces.
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json_input.loads(text) if text.startswith(("[", "{")) else text.split(",") if text else []
            except json_input.JsonInputError as exc:
                raise ValueError(f"starts like JSON but {exc}; write a JSON list or comma-separated namespaces"
                                 ) from None
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("must be namespaces, as a JSON list or separated by commas, e.g. "
                             "s3://acme-training,bigquery")
        names = [v.strip() for v in value if v.strip()]
        for name in names:
            if len(name) > 500 or any(unicodedata.category(c).startswith("C") for c in name):
                raise ValueError(f"{name[:80]!r} is not a namespace: at most 500 characters, no control characters")
        return list(dict.fromkeys(names))

    @field_validator("lake_url")
    @classmethod
    def _a_lake(cls, value: str | None) -> str | None:
        from portal.core.lake_location import LakeLocation, LocationError

        if value is None or not value.strip():
            return None
        try:
            LakeLocation.parse(value, Path("."))
        except LocationError as exc:
            raise ValueError(str(exc).removeprefix(f"PORTAL_LAKE_URL {value.strip()!r} ")) from None
        return value.strip()

    @field_validator("data_dir")
    @classmethod
    def _a_directory(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a directory")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _an_smtp_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value.strip())
            port = parts.port
        except ValueError:
            raise ValueError("is not a URL such as smtp://host:587 (the port must be a number)") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must be smtp://host:port or smtps://host:port, e.g. smtp://mail.example.com:587")
        if port == 0:
            raise ValueError("names port 0; give the mail server's port, e.g. 587")
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _a_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            make_url(value).get_dialect().import_dbapi()
        except ArgumentError:
            raise ValueError("is not a database URL such as postgresql+psycopg://host/db") from None
        except (NoSuchModuleError, ImportError) as exc:
            raise ValueError(f"names a database or driver that is not installed ({exc})") from None
        return value

    @field_validator("k_anonymity")
    @classmethod
    def _k_at_least_two(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"must be at least 2 (got {value}); k=1 would show single people")
        if value > _MAX_INT["k_anonymity"]:
            raise ValueError(f"must be at most {_MAX_INT['k_anonymity']:,} (got {value})")
        return value

    @field_validator("dp_epsilon")
    @classmethod
    def _epsilon_in_range(cls, value: float | None) -> float | None:
        # Below the range the noise swamps every count (1e-300 printed 9,223,372,036,854,775,807 people);
        # above it the noise protects nobody. NaN fails every comparison, so it is refused here too.
        if value is not None and not MIN_DP_EPSILON <= value <= MAX_DP_EPSILON:
            raise ValueError(f"must be a positive number from {MIN_DP_EPSILON:g} to {MAX_DP_EPSILON:g} (got {value}); "
                             "leave it empty for no noise")
        return value

    @field_validator("max_session_hours")
    @classmethod
    def _session_in_range(cls, value: float) -> float:
        # NaN or infinity would make every session's age check fail (or never expire) on every page.
        if not 0 < value <= MAX_SESSION_HOURS:
            raise ValueError(f"must be more than 0 and at most {MAX_SESSION_HOURS:g} hours (got {value})")
        return value

    @field_validator("telemetry_buckets", "page_size")
    @classmethod
    def _positive_int(cls, value: int, info: ValidationInfo) -> int:
        limit = _MAX_INT[cast(str, info.field_name)]  # set for a field validator
        if not 1 <= value <= limit:
            raise ValueError(f"must be from 1 to {limit:,} (got {value})")
        return value

    @field_validator("subject_claim")
    @classmethod
    def _a_stable_claim(cls, value: str) -> str:
        name = _claim_name(value, "the subject claim", "sub")
        if name in MUTABLE_CLAIMS:
            raise ValueError(f"{name!r} is a claim that people or administrators can change, so it cannot identify "
                             "a person; use the provider's stable identifier: sub, or oid for Microsoft Entra ID")
        return name

    @field_validator("role_claims", mode="before")
    @classmethod
    def _claim_names(cls, value: object) -> list[str]:
        return parse_role_claims(value)

    @field_validator("role_groups")
    @classmethod
    def _known_roles(cls, value: dict[str, str]) -> dict[str, str]:
        """The company's mapping over the defaults; a group mapped to "" grants nothing (a default switched off)."""
        from portal.core.roles import ASSIGNABLE_ROLES

        for group, role in value.items():
            if not group.strip():
                raise ValueError(f"a group name is empty (it maps to {role!r}); name the group, group id or role")
            if role and role not in ASSIGNABLE_ROLES:
                raise ValueError(
                    f"group {group!r} maps to unknown role {role!r}; known roles: {', '.join(sorted(ASSIGNABLE_ROLES))}"
                    ', or "" to switch a group off'
                )
        return {**DEFAULT_ROLE_GROUPS, **value}

    @field_validator("catalog", mode="before")
    @classmethod
    def _a_catalog(cls, value: object) -> Path | None:
        """Read, check and put the catalog in force before the settings that name its categories."""
        if value is None or not str(value).strip():
            return None
        value = Path(str(value).strip())
        from portal.core import catalog, catalog_file

        try:
            loaded = catalog_file.load(value)
        except catalog_file.CatalogError as exc:
            raise ValueError(str(exc)) from None
        if catalog.active() != loaded:
            catalog.activate(loaded)
        return value

    @field_validator("max_principals", mode="before")
    @classmethod
    def _known_categories(cls, value: object) -> dict[str, int]:
        from portal.core import catalog, catalog_file
        from portal.core.exposure_policy import parse_max_principals

        try:
            catalog.active()
        except catalog_file.CatalogError:
            return {}  # the catalog's own error says why; limits of its categories cannot be checked without it
        return parse_max_principals(value)

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'portal.db').resolve()}"

    @property
    def lake_dir(self) -> Path:
        """The local lake's directory (``lake_url`` when it is a local path); see :attr:`lake_location`."""
        if self.lake_url and not self.lake_url.startswith(("s3://", "s3a://")):
            return Path(self.lake_url.removeprefix("file://"))
        return self.data_dir / "lake"

    @cached_property
    def lake_location(self) -> LakeLocation:
        from portal.core.lake_location import LakeLocation

        return LakeLocation.parse(self.lake_url, self.data_dir, database_url=self.resolved_database_url)


def _claim_name(value: str, what: str, example: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError(f"{what} is empty; name a claim of the identity token, e.g. {example}")
    if len(name) > MAX_CLAIM_NAME:
        raise ValueError(f"{what} is {len(name):,} characters long; a claim name has at most {MAX_CLAIM_NAME}")
    if any(c.isspace() for c in name):
        raise ValueError(f"{what} {name!r} holds a space; separate claim names with commas, e.g. groups,roles")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ValueError(f"{what} {name!r} holds a control character")
    return name


def parse_role_claims(value: object) -> list[str]:
    """PORTAL_ROLE_CLAIMS as a list of claim names: a JSON list, or names separated by commas."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                value = json_input.loads(text)
            except json_input.JsonInputError as exc:
                raise ValueError(f"starts like JSON but {exc}; write a JSON list of names or "
                                 "comma-separated names, e.g. groups,roles") from None
        else:
            value = text.split(",") if text else []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError('must be claim names, as a JSON list or separated by commas, e.g. ["groups", "roles"] '
                         "or groups,roles")
    if not value:
        raise ValueError("names no claim; name at least one, e.g. groups,roles (a claim the provider does not "
                         "send grants nothing, so the default is harmless)")
    if len(value) > MAX_ROLE_CLAIMS:
        raise ValueError(f"names {len(value)} claims; at most {MAX_ROLE_CLAIMS}")
    names = [_claim_name(v, f"claim name {i} of {len(value)}", "groups") for i, v in enumerate(value, start=1)]
    return list(dict.fromkeys(names))


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's errors into one readable message."""
    deep = _nested_too_deep()
    if deep is not None:
        raise SettingsError(f"Invalid portal settings: {deep} is nested more than {json_input.MAX_DEPTH} levels deep; "
                            f"it must be JSON, e.g. {_JSON_EXAMPLES[deep.removeprefix('PORTAL_').lower()]}")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"PORTAL_{name.upper()}: {err['msg']}")
        raise SettingsError("Invalid portal settings: " + "; ".join(problems)) from None
    except RecursionError:  # a JSON setting nested beyond what the decoder follows, from the .env file
        raise SettingsError("Invalid portal settings: PORTAL_ROLE_GROUPS or PORTAL_MAX_PRINCIPALS is nested too "
                            "deeply to be read") from None
    except SourceError as exc:
        # pydantic-settings fails before validation when a complex value is not JSON.
        field = str(exc).split('"')[1] if '"' in str(exc) else "settings"
        example = _JSON_EXAMPLES.get(field, "a JSON object")
        raise SettingsError(f"Invalid portal settings: PORTAL_{field.upper()} must be JSON, e.g. {example}") from None


def _nested_too_deep() -> str | None:
    """The environment variable of a JSON setting nested so deeply that decoding it would exhaust the stack."""
    wanted = {f"PORTAL_{name.upper()}" for name in _JSON_EXAMPLES}
    for key, value in os.environ.items():
        if key.upper() in wanted and json_input.depth(value) > json_input.MAX_DEPTH:
            return key.upper()
    return None


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting; used by the README test."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append((f"PORTAL_{name.upper()}", json.dumps(default, default=str), field.description or ""))
    return rows
