"""The deployment files are valid: compose structure (and `docker compose config` when available)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_database_with_volume_healthcheck_and_one_shot_migration():
    db = SPEC["services"]["db"]
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    migrate = SPEC["services"]["migrate"]
    assert migrate["command"] == ["app", "init"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert {"pgdata", "appdata"} <= set(SPEC["volumes"])


def test_app_runs_several_workers_after_migration_on_postgres():
    app = SPEC["services"]["app"]
    assert app["command"][:2] == ["app", "serve"] and "--workers" in app["command"]
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert app["environment"]["EMOTIONS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "healthcheck" in app


def test_optional_ray_and_gpu_trainer_profiles():
    services = SPEC["services"]
    assert services["ray-head"]["profiles"] == ["ray"] and services["ray-worker"]["profiles"] == ["ray"]
    assert "--head" in services["ray-head"]["entrypoint"]
    assert "--address=ray-head:6379" in services["ray-worker"]["entrypoint"]
    trainer = services["trainer"]
    assert trainer["profiles"] == ["train"]
    device = trainer["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def test_every_image_has_its_dockerfile_and_the_app_image_has_no_torch():
    for service in SPEC["services"].values():
        if "build" in service:
            assert (ROOT / service["build"]["dockerfile"]).is_file()
    installs = re.findall(r"pip install [^&]*'\.\[([a-z,]+)\]'", (ROOT / "Dockerfile").read_text())
    assert installs == ["app,qa"]
    trainer = re.findall(r"'\.\[([a-z,]+)\]'", (ROOT / "Dockerfile.trainer").read_text())
    assert "model" in trainer[0].split(",")


def test_env_example_names_only_known_settings():
    from core.settings import Settings

    known = {f"EMOTIONS_{name.upper()}" for name in Settings.model_fields}
    keys = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")}
    assert {k for k in keys if k.startswith("EMOTIONS_")} <= known


def test_docker_compose_config_validates(tmp_path):
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        compose = [docker, "compose"]
    elif shutil.which("docker-compose"):
        compose = [shutil.which("docker-compose")]
    else:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed: compose validation skipped")
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    result = subprocess.run([*compose, "--env-file", str(env), "-f", str(ROOT / "docker-compose.yml"),
                             "--profile", "ray", "--profile", "train", "config", "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
