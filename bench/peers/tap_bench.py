"""A minimal Singer SDK tap reading pull requests from the benchmark upstream.

It is written the way the Singer SDK documentation shows a REST tap: a ``RESTStream`` with
``HeaderLinkPaginator``, the default ``$[*]`` record extraction and a JSON Schema for the
stream. Records go to the tap's stdout (the benchmark sends it to /dev/null).

    python tap_bench.py --config config.json > /dev/null

config.json: {"base_url": "http://127.0.0.1:PORT", "repository": "acme/widgets", "token": "x"}
"""

from __future__ import annotations

import json
import sys
import time
import typing as t
from urllib.parse import parse_qsl

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.pagination import HeaderLinkPaginator
from singer_sdk.streams import RESTStream

STARTED = time.monotonic()

USER = th.ObjectType(
    th.Property("login", th.StringType),
    th.Property("id", th.IntegerType),
    th.Property("node_id", th.StringType),
    th.Property("avatar_url", th.StringType),
    th.Property("url", th.StringType),
    th.Property("html_url", th.StringType),
    th.Property("type", th.StringType),
    th.Property("site_admin", th.BooleanType),
)

REPO = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("name", th.StringType),
    th.Property("full_name", th.StringType),
    th.Property("private", th.BooleanType),
    th.Property("owner", USER),
    th.Property("html_url", th.StringType),
    th.Property("url", th.StringType),
    th.Property("default_branch", th.StringType),
)

REF = th.ObjectType(
    th.Property("label", th.StringType),
    th.Property("ref", th.StringType),
    th.Property("sha", th.StringType),
    th.Property("user", USER),
    th.Property("repo", REPO),
)

LABEL = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("node_id", th.StringType),
    th.Property("url", th.StringType),
    th.Property("name", th.StringType),
    th.Property("color", th.StringType),
    th.Property("default", th.BooleanType),
    th.Property("description", th.StringType),
)

PULL_REQUEST = th.PropertiesList(
    th.Property("id", th.IntegerType),
    th.Property("node_id", th.StringType),
    th.Property("number", th.IntegerType),
    th.Property("url", th.StringType),
    th.Property("html_url", th.StringType),
    th.Property("issue_url", th.StringType),
    th.Property("comments_url", th.StringType),
    th.Property("state", th.StringType),
    th.Property("locked", th.BooleanType),
    th.Property("title", th.StringType),
    th.Property("body", th.StringType),
    th.Property("user", USER),
    th.Property("labels", th.ArrayType(LABEL)),
    th.Property("milestone", th.ObjectType()),
    th.Property("active_lock_reason", th.StringType),
    th.Property("created_at", th.DateTimeType),
    th.Property("updated_at", th.DateTimeType),
    th.Property("closed_at", th.DateTimeType),
    th.Property("merged_at", th.DateTimeType),
    th.Property("merge_commit_sha", th.StringType),
    th.Property("assignee", USER),
    th.Property("assignees", th.ArrayType(USER)),
    th.Property("requested_reviewers", th.ArrayType(USER)),
    th.Property("requested_teams", th.ArrayType(th.ObjectType())),
    th.Property("head", REF),
    th.Property("base", REF),
    th.Property("author_association", th.StringType),
    th.Property("auto_merge", th.ObjectType()),
    th.Property("draft", th.BooleanType),
).to_dict()


class PullRequestsStream(RESTStream):
    """Pull requests of one repository, newest update first, paged by the Link header."""

    name = "pull_requests"
    primary_keys: t.ClassVar[list[str]] = ["id"]
    replication_key = None
    schema = PULL_REQUEST

    @property
    def url_base(self) -> str:
        return self.config["base_url"]

    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/repos/{self.config['repository']}/pulls"

    @property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["token"])

    def get_new_paginator(self) -> HeaderLinkPaginator:
        return HeaderLinkPaginator()

    def get_url_params(self, context, next_page_token):  # noqa: ANN001, ANN201
        params: dict[str, t.Any] = {
            "state": "all",
            "sort": "updated",
            "direction": "desc",
            "per_page": 100,
        }
        if next_page_token:
            params.update(parse_qsl(next_page_token.query))
        return params


class TapBench(Tap):
    """Benchmark tap: one stream of pull requests."""

    name = "tap-bench"
    config_jsonschema = th.PropertiesList(
        th.Property("base_url", th.StringType, required=True),
        th.Property("repository", th.StringType, required=True),
        th.Property("token", th.StringType, required=True, secret=True),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        return [PullRequestsStream(self)]


def _report_elapsed() -> None:
    # The benchmark compares end-to-end wall time; this line lets it also show the
    # time spent after Python and the SDK were imported.
    print(
        json.dumps({"tap_bench_in_process_s": time.monotonic() - STARTED}),
        file=sys.stderr,
    )


if __name__ == "__main__":
    import atexit

    atexit.register(_report_elapsed)
    TapBench.cli()
