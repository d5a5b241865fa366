"""Every variable of PROTOCOL.md section 1, read from the environment and ``.env`` by pydantic-settings.

Settings are built by the app factory or the CLI, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Default base URL per provider (PROTOCOL.md 1). A base URL is the prefix PROVIDERS.md's paths hang from.
PROVIDER_BASE_URLS: dict[str, str] = {
    "local": "",
    "runway": "https://api.dev.runwayml.com",
    "kling": "https://api-singapore.klingai.com",
    "pika": "https://queue.fal.run",
    "seedance": "https://ark.cn-beijing.volces.com/api/v3",
    "minimax": "https://api.minimax.io",
    "luma": "https://api.lumalabs.ai/dream-machine/v1",
    "offline": "",
    "openai": "https://api.openai.com/v1",
    "claude": "https://api.anthropic.com",
    "qwen": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    "doubao": "https://ark.cn-beijing.volces.com/api/v3",
    "ollama": "http://localhost:11434",
}

# Alternative key variables accepted (PROTOCOL.md 1).
KEY_ALIASES: dict[str, tuple[str, ...]] = {
    "pika": ("PIKA_API_KEY", "FAL_KEY"),
    "claude": ("CLAUDE_API_KEY", "ANTHROPIC_API_KEY"),
    "qwen": ("QWEN_API_KEY", "DASHSCOPE_API_KEY"),
    "kling": ("KLING_ACCESS_KEY",),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("./data")
    mongodb_uri: SecretStr | None = None
    mongodb_db: str = "workspace_server"
    video_provider: str = "local"
    llm_provider: str = "offline"
    image_provider: str = "local"  # PROTOCOL.md 8.5: keyframes painted offline by default
    tts_provider: str = "local"  # narration spoken offline by default (the speech extra)
    public_base_url: str | None = None
    auth_token: SecretStr | None = None
    allowed_origins: str | None = None
    poll_interval_s: float = Field(5.0, gt=0)
    video_timeout_s: float = Field(600.0, gt=0)
    sync_debounce_ms: float = Field(0.0, ge=0)
    sync_max_wait_ms: float = Field(1000.0, ge=0)
    max_message_bytes: int = Field(262144, gt=0)
    max_upload_bytes: int = Field(10485760, gt=0)
    ws_ping_interval_s: float = Field(30.0, ge=0)
    ws_ping_timeout_s: float = Field(30.0, ge=0)
    ws_rate: float = Field(100.0, gt=0)
    ws_burst: int = Field(200, gt=0)
    max_connections: int = Field(10000, gt=0)
    log_level: str = "INFO"
    # HTTP_HEADER_TIMEOUT_S: a connection whose request headers are not complete by then is closed (slowloris)
    http_header_timeout_s: float = Field(10.0, gt=0)
    ws_compression: bool = False  # WS_COMPRESSION: permessage-deflate (costs ~40 KiB per idle connection)
    ui_dir: Path | None = None  # built timeline UI; default ecosystem/timeline-ui/dist when it exists
    # DB_TIMEOUT_MS: how long start-up keeps trying to reach the database; once running, a request waits at most
    # ~1 s for an unreachable one (app/db: serverSelectionTimeoutMS, and the health monitor refuses at once)
    db_timeout_ms: int = Field(3000, gt=0)
    # FANOUT: "local" (events reach this process's connections) or "changestream" (every process watches the
    # workspaces collection and forwards changes to its own connections: several processes, one timeline)
    fanout: Literal["local", "changestream"] = "local"
    # provider callbacks (PROTOCOL.md 9.3; app/api/callbacks): where fal's webhook signing keys
    # are published (fetched through the provider's HTTP client, cached). <NAME>_WEBHOOK_SECRET (a Standard
    # Webhooks secret, read with the provider variables) makes /api/callbacks/<name> check that signature.
    fal_jwks_url: str = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    fal_jwks_ttl_s: float = Field(3600.0, gt=0)
    # per-project tokens (PROTOCOL.md 9.1; app/auth): either one turns authentication on, as
    # AUTH_TOKEN does. AUTH_JWT_PUBLIC_KEY is a PEM (RS256, ES256 or EdDSA by the key's type), or a file holding one.
    auth_jwt_secret: SecretStr | None = None  # HS256
    auth_jwt_public_key: str | None = None
    auth_jwt_audience: str | None = None  # checked when set
    auth_jwt_issuer: str | None = None  # checked when set
    # media on S3-compatible storage (PROTOCOL.md 9.2; app/media_s3, the `s3` extra). S3_ENDPOINT
    # unset: AWS. It is also the host of the presigned URLs, so browsers must reach it. Unset keys: obstore's
    # usual credential chain. S3_FORCE_PATH_STYLE: true for MinIO and most self-hosted stores.
    media_store: Literal["disk", "s3"] = "disk"
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_force_path_style: bool = False
    presign_expires_s: int = Field(600, gt=0, le=604800)  # SigV4 URLs live at most 7 days
    # jobs (PROTOCOL.md 8; app/jobs): a run of a job longer than JOB_TIMEOUT_S fails with `timeout`; at most
    # EXPORT_CONCURRENCY exports run at once per process. JOB_LEASE_S: how long a claimed job stays with the
    # process that claimed it without a renewal (renewed every third of it), i.e. how soon a crashed process's
    # jobs are taken up by another.
    job_timeout_s: float = Field(1800.0, gt=0)
    export_concurrency: int = Field(1, ge=1)
    job_lease_s: float = Field(30.0, gt=0)
    # RUN_JOBS=false: this socket-serving process takes job requests but runs none (leave them to `python -m app
    # worker` processes, so heavy work such as exports does not share a CPU with the sockets)
    run_jobs: bool = True
    # FANOUT=changestream: a connection's presence is dropped this long after its process stopped marking it seen
    # (a process that died); it marks them every third of it, at most every 5 s (PROTOCOL.md 10.1: within 30 s)
    presence_stale_s: float = Field(15.0, ge=1.0, le=25.0)
    # connections of one project (per process) announced and allowed presence.update (app/services/presence.py)
    presence_max_seats: int = Field(256, ge=1)

    @field_validator("s3_endpoint", "s3_bucket", "s3_access_key_id", "s3_secret_access_key", mode="before")
    @classmethod
    def _empty_s3_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator(
        "mongodb_uri",
        "auth_token",
        "public_base_url",
        "allowed_origins",
        "auth_jwt_secret",
        "auth_jwt_public_key",
        "auth_jwt_audience",
        "auth_jwt_issuer",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def origins(self) -> list[str] | None:
        """``ALLOWED_ORIGINS`` as a list (lower case, no trailing ``/``); ``["*"]`` when it names ``*`` (any
        origin); None when unset (the defaults of PROTOCOL.md 1: own origin and loopback dev origins)."""
        if not self.allowed_origins:
            return None
        origins = [o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()]
        if "*" in origins:
            return ["*"]
        return origins or None

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def db_dir(self) -> Path:
        return self.data_dir / "db"


def provider_env(name: str, environ: dict[str, str]) -> dict[str, str | None]:
    """``<NAME>_API_KEY``/``_BASE_URL``/``_MODEL`` (+ aliases, Kling's pair) for one provider, from an environment.

    Read from the environment the settings were built from, so provider names added to the registry need no
    new settings fields."""
    upper = name.upper()
    key = None
    for var in (*KEY_ALIASES.get(name, ()), f"{upper}_API_KEY"):
        if environ.get(var):
            key = environ[var]
            break
    return {
        "api_key": key,
        "secret_key": environ.get(f"{upper}_SECRET_KEY") or None,
        "base_url": (environ.get(f"{upper}_BASE_URL") or PROVIDER_BASE_URLS.get(name, "")).rstrip("/"),
        "model": environ.get(f"{upper}_MODEL") or None,
    }
