"""The errors of an object store (:mod:`~assets_core.running.object_storage`): which errors are the store's (or the
way to it) rather than the value's or a bug, and what a user does about each kind; and the store's libraries kept
to warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterable

STORE_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec")  # whose errors are the store's


def quiet(names: Iterable[str]) -> None:
    """Keep the store's libraries to warnings (they log each credential and endpoint lookup at INFO, which a
    run would show as stray lines), unless the user set their level."""
    for name in names:
        found = logging.getLogger(name)
        if found.level == logging.NOTSET:
            found.setLevel(logging.WARNING)


def from_store(error: BaseException) -> bool:
    """Whether an error comes from the store (or the way to it), rather than from the value or a bug."""
    if isinstance(error, OSError) or any(cls.__module__.partition(".")[0] in STORE_MODULES
                                         for cls in type(error).__mro__):
        return True
    frame = error.__traceback__  # a plain ValueError the store's code raised (aiobotocore: "Invalid endpoint")
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and str(frame.tb_frame.f_globals.get("__name__")).partition(".")[0] in STORE_MODULES


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def remedy(error: BaseException, bucket: str) -> str:
    """What to do about a store's error, told by its kind.

    >>> remedy(FileNotFoundError("The specified bucket does not exist"), "lake")
    'create the bucket (e.g. aws s3 mb s3://lake), or fix the storage URL'
    >>> remedy(PermissionError("Access Denied"), "lake").split(";")[0]
    'check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and the bucket policy'
    """
    kinds = {cls.__name__ for cls in type(error).__mro__}
    if kinds & {"NoCredentialsError", "PartialCredentialsError"}:
        return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for the store"
    if kinds & {"InvalidEndpointConfigurationError", "EndpointResolutionError"} or "Invalid endpoint" in str(error):
        return "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) must be a URL with its scheme, e.g. http://127.0.0.1:9000"
    if kinds & {"ProfileNotFound"}:
        return ("AWS_PROFILE names no profile of ~/.aws/config or ~/.aws/credentials: fix it, or unset it and set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if kinds & {"ConnectionClosedError"}:
        return ("the endpoint closed the connection without an answer, so it is not an S3-compatible server: set "
                "AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3) to the URL of one")
    if kinds & {"EndpointConnectionError", "ConnectionError", "ConnectTimeoutError", "ReadTimeoutError"}:
        return ("the store's endpoint cannot be reached: start it, or set AWS_ENDPOINT_URL (or "
                "AWS_ENDPOINT_URL_S3) to the URL of a running S3-compatible server")
    if isinstance(error, PermissionError):
        return ("check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE) and the "
                "bucket policy; they must allow listing, reading, writing and deleting under the prefix")
    if isinstance(error, FileNotFoundError):
        return f"create the bucket (e.g. aws s3 mb s3://{bucket}), or fix the storage URL"
    return "check that the store is reachable and the credentials are valid, then run again"
