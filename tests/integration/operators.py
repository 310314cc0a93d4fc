"""Builders for the operator tests: the command line run as a process, and an operator signed
in with their second factor, codes computed with pyotp itself."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp

from tests.integration.gateway_harness import Gateway

API = "/api/v1"


def new_email(kind: str = "op") -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class Ran:
    """What a command-line run did."""

    code: int
    out: str
    err: str


async def cryptocfd(gateway: Gateway, *args: str, **more_env: str) -> Ran:
    """Run ``cryptocfd ARGS`` as its own process on the test's database."""
    env = {
        **os.environ,
        **more_env,
        "DATABASE_URL": gateway.database_url,
        "CRYPTOCFD_ENV": "dev",
        "CRYPTOCFD_STATE_DIR": str(Path(gateway.settings.state_dir)),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptocfd.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def grant(gateway: Gateway, email: str, role: str = "operator") -> None:
    ran = await cryptocfd(gateway, "admin", "grant", email, role)
    assert ran.code == 0, ran.err


def code_now(secret: str, offset_steps: int = 0) -> str:
    """The authenticator's code, ``offset_steps`` steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def wrong_code(secret: str) -> str:
    """A code no step near now has."""
    near = {code_now(secret, step) for step in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in near)


async def setup_totp(gateway: Gateway, headers: dict[str, str]) -> str:
    """Set up the caller's second factor; its secret."""
    answer = await gateway.client.post(f"{API}/auth/totp/setup", headers=headers)
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


async def verify(gateway: Gateway, headers: dict[str, str], code: str) -> Any:
    return await gateway.client.post(
        f"{API}/auth/totp/verify", headers=headers, json={"code": code}
    )


@dataclass
class SignedOperator:
    """An operator signed in by token: unraised headers, raised ones, and their secret."""

    email: str
    user_id: int
    plain: dict[str, str]
    raised: dict[str, str]
    secret: str


async def enrolled_operator(
    gateway: Gateway, role: str = "operator"
) -> tuple[str, dict[str, str], str]:
    """A user granted ``role`` on the command line, signed in by token, TOTP set up but not
    verified: their email, bearer headers and secret."""
    email = new_email()
    plain = await gateway.sign_in(email)
    await grant(gateway, email, role)
    return email, plain, await setup_totp(gateway, plain)


async def raised_operator(gateway: Gateway, role: str = "operator") -> SignedOperator:
    """An ``enrolled_operator`` whose right code raised a new token."""
    email, plain, secret = await enrolled_operator(gateway, role)
    answer = await verify(gateway, plain, code_now(secret))
    assert answer.status_code == 200, answer.text
    raised = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    me = await gateway.client.get(f"{API}/auth/me", headers=plain)
    return SignedOperator(email, int(me.json()["id"]), plain, raised, secret)


def code_of(answer: Any) -> str:
    return str(answer.json()["error"]["code"])
