"""RELIABILITY.md §5, items 21-33, claim by claim: the named tests that prove each claim.

`CHECKLIST` maps an item number to (claim, pytest node id) pairs; a node id names a test file and
a class and function in it, without the parameter part (`[...]`) of a parametrized test. Where
the gateway's documented default differs from the number the checklist quotes, the claim says
so and the test holds the gateway to its own default:

- item 21, `_meta` depth: the checklist quotes ContextForge's 2; `limits.max_meta_depth` is 3.
- item 21, JSON depth: the checklist says "-32600/400"; the HTTP guard answers HTTP 400 (with a
  plain `{"error": ...}` body, before any JSON-RPC is read).
- item 29, loopback targets: `egress.allow` lists loopback by default (`127.0.0.0/8`, `::1`,
  `localhost`); loopback in every notation is refused under an allowlist that does not hold it.
- item 28, the 2 principals x 50 clients load: an in-process test of about 5 s.

`NOT_MET` lists the claims the product does not meet today, each with its evidence and the
strict expected-failure test that reproduces it (it fails loudly once the product is fixed,
so the entry moves to `CHECKLIST`).

The tests below keep the mapping honest: every item has entries, and every node id still names
a test that exists, so renaming or deleting a test cannot silently orphan a claim.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ITEMS = range(21, 34)

FRONT_DOOR = "tests/e2e/test_front_door.py"
E2E_FRONT = "tests/e2e/test_front.py"
BODY = "tests/gateway/front/test_body_limits.py"
DOOR = "tests/gateway/front/test_door.py"
BEARER = "tests/gateway/front/test_bearer_challenges.py"
ORIGINS = "tests/gateway/front/test_origins_and_hosts.py"
FRONT_SESSIONS = "tests/gateway/front/test_front_sessions.py"
SIZE = "tests/gateway/policies/test_size_limits.py"
RATE = "tests/gateway/policies/test_ratelimit.py"
RATE_KEYS = "tests/gateway/policies/test_rate_keys.py"
VIEWS = "tests/gateway/policies/test_views.py"
GRANTS = "tests/gateway/policies/test_tool_grants.py"
AUDIT = "tests/gateway/policies/test_audit_records.py"
CREDENTIALS = "tests/gateway/upstream/test_backend_credentials.py"
TARGETS = "tests/gateway/upstream/test_egress_targets.py"
STDIO = "tests/gateway/upstream/test_stdio_spawn.py"
LOCK = "tests/gateway/routing/test_lockfile.py"
INDEX = "tests/gateway/routing/test_index.py"
NAMESPACING = "tests/gateway/routing/test_namespacing.py"
ERRORS = "tests/gateway/base/test_errors.py"
MASKING = "tests/gateway/base/test_error_masking.py"

CHECKLIST: dict[int, list[tuple[str, str]]] = {
    21: [
        ("default body limit is 1 MiB", f"{BODY}::test_the_default_body_limit_is_one_mebibyte"),
        (
            "body > 1 MiB (declared) -> 413, nothing read",
            f"{BODY}::TestSizeBeforeParsing::test_a_declared_length_over_1_mib_is_413_with_nothing_read",
        ),
        (
            "body > 1 MiB (streamed, not JSON) -> 413 before parsing",
            f"{BODY}::TestSizeBeforeParsing::test_a_streamed_body_over_1_mib_is_413_not_a_json_error",
        ),
        (
            "exactly 1 MiB passes the size check",
            f"{BODY}::TestSizeBeforeParsing::test_exactly_1_mib_of_json_passes_the_size_check",
        ),
        (
            "body over the limit -> 413 (real process)",
            f"{FRONT_DOOR}::TestLimits::test_an_oversized_body_is_413",
        ),
        ("JSON depth 31 -> 400", f"{BODY}::TestShape::test_json_nesting_31_levels_is_400"),
        ("JSON depth 30 -> served", f"{BODY}::TestShape::test_json_nesting_30_levels_is_served"),
        (
            "deep JSON and batches -> 400 (real process)",
            f"{FRONT_DOOR}::TestLimits::test_deep_json_and_batches_are_400",
        ),
        (
            "SSE /messages/: 2 MiB -> 413, depth 100 -> 400",
            f"{DOOR}::TestNoSideDoor::test_messages_are_checked_before_the_server_sees_them",
        ),
        ("batch array -> 400", f"{BODY}::TestShape::test_a_json_rpc_batch_is_400"),
        (
            "batch array -> 400 once authenticated",
            f"{DOOR}::TestNothingBeforeAuthentication::test_a_good_key_still_gets_its_body_checked",
        ),
        (
            "_meta defaults 16 keys / depth 3 (ContextForge: 2) / 4096 bytes",
            f"{SIZE}::test_the_defaults_are_the_documented_ones",
        ),
        (
            "_meta 17 keys / 4 levels / > 4 KiB refused, tool never runs",
            f"{SIZE}::TestMeta::test_an_oversized_meta_is_refused_and_the_tool_never_runs",
        ),
        (
            "_meta at the limits served (envelope keys exempt)",
            f"{SIZE}::TestMeta::test_a_meta_at_the_limits_is_served",
        ),
        (
            "_meta bytes on completions too",
            "tests/gateway/policies/test_every_path.py::test_completions_are_rate_limited_and_their_meta_is_measured",
        ),
    ],
    22: [
        (
            "default response limit 1 000 000 bytes, truncate",
            f"{SIZE}::test_the_defaults_are_the_documented_ones",
        ),
        (
            "answer > 1 MB cut to the limit with a marker",
            f"{SIZE}::TestResponses::test_an_answer_over_1_mb_is_cut_to_the_limit_with_a_marker",
        ),
        ("answer under the limit whole", f"{SIZE}::TestResponses::test_an_answer_under_the_limit_is_whole"),
        (
            "answer > limit refused with `reject`",
            f"{SIZE}::TestResponses::test_reject_refuses_an_answer_over_the_limit",
        ),
        (
            "oversized answer cut (real process)",
            f"{FRONT_DOOR}::TestLimits::test_an_oversized_answer_is_cut_with_a_marker",
        ),
        (
            "slowloris body -> 408 at request_read_timeout",
            f"{BODY}::test_a_body_that_stops_arriving_gets_408_at_the_read_timeout",
        ),
        ("slowloris body -> 408 (real socket)", f"{FRONT_DOOR}::TestLimits::test_a_slow_body_times_out"),
        (
            "slowloris headers cut off (real socket)",
            f"{DOOR}::test_a_client_trickling_its_headers_is_cut_off",
        ),
    ],
    23: [
        (
            "keyed by verified principal, not a header",
            f"{RATE_KEYS}::test_a_name_in_a_header_never_chooses_the_bucket",
        ),
        (
            "JWT sub never shares an API key's bucket",
            f"{RATE}::TestTokenBuckets::test_a_jwt_subject_never_draws_on_the_api_key_principal_of_the_same_name",
        ),
        ("buckets per principal", f"{RATE}::TestTokenBuckets::test_buckets_are_per_principal"),
        ("monotonic clock", f"{RATE_KEYS}::test_the_limiter_runs_on_the_monotonic_clock"),
        (
            "denied calls do not refill (or push refill away)",
            f"{RATE}::TestTokenBuckets::test_a_refusal_says_how_long_to_wait_and_costs_nothing",
        ),
        (
            "a refused call takes from no bucket",
            f"{RATE}::TestTokenBuckets::test_a_call_takes_from_all_its_buckets_or_from_none",
        ),
        ("bounded bucket memory", f"{RATE}::TestTokenBuckets::test_memory_is_bounded"),
        (
            "least recently used bucket dropped first",
            f"{RATE_KEYS}::test_the_least_recently_used_bucket_goes_first",
        ),
        (
            "100 rps offered vs 10 rps + burst 20 -> within 10%",
            f"{RATE}::TestTokenBuckets::test_offered_100_per_second_against_10_per_second_burst_20",
        ),
    ],
    24: [
        (
            "no client Authorization/Cookie; own token; caller name only",
            f"{CREDENTIALS}::TestWhatABackendReceives::test_its_own_credentials_and_the_callers_name_never_the_callers",
        ),
        (
            "no credentials configured: no Authorization at all",
            f"{CREDENTIALS}::TestWhatABackendReceives::test_without_configured_credentials_no_authorization_at_all",
        ),
        (
            "no Authorization/Cookie (real processes)",
            f"{E2E_FRONT}::test_the_clients_authorization_header_never_reaches_a_backend",
        ),
        (
            "backend's own token (real processes)",
            f"{FRONT_DOOR}::TestBackendCredentials::test_a_backend_gets_its_own_token_and_the_callers_name_never_the_callers_token",
        ),
        (
            "module backend sees no request headers or token",
            "tests/gateway/behaviour/test_isolation.py::test_a_module_backend_sees_nothing_of_the_callers_request",
        ),
    ],
    25: [
        (
            "wrong aud/iss, expired, alg=none, bad signature -> 401 + resource_metadata",
            f"{BEARER}::TestChallenges::test_a_rejected_jwt_is_401_with_a_challenge_naming_the_metadata",
        ),
        (
            "control: the same JWT well formed is served",
            f"{BEARER}::TestChallenges::test_the_same_jwt_well_formed_is_served",
        ),
        (
            "missing scope -> 403 insufficient_scope",
            f"{BEARER}::TestChallenges::test_a_jwt_without_the_required_scope_is_403_insufficient_scope",
        ),
        (
            "token in query string -> 401",
            f"{BEARER}::TestChallenges::test_a_token_in_the_query_string_is_refused_even_beside_a_good_header",
        ),
        (
            "verifier: aud, iss, expiry, signature, HS256 confusion",
            "tests/gateway/front/test_auth.py::TestJwt::test_bad_tokens_are_refused",
        ),
        ("verifier: alg=none", "tests/gateway/front/test_auth.py::TestJwt::test_alg_none_is_refused"),
        ("bad JWTs -> 401 (real process)", f"{FRONT_DOOR}::TestAuthentication::test_bad_jwts_are_401"),
        (
            "no credentials -> 401 + resource_metadata (real process)",
            f"{FRONT_DOOR}::TestAuthentication::test_no_credentials_is_401_with_a_challenge",
        ),
        (
            "missing scope -> 403 (real process)",
            f"{FRONT_DOOR}::TestAuthentication::test_a_jwt_without_the_required_scope_is_403",
        ),
        (
            "token in query string (real process)",
            f"{FRONT_DOOR}::TestAuthentication::test_a_token_in_the_query_string_is_refused",
        ),
        (
            "token in query string on SSE /messages/",
            f"{DOOR}::TestNoSideDoor::test_messages_are_checked_before_the_server_sees_them",
        ),
    ],
    26: [
        (
            "tool_scopes: without the scope neither listed nor callable",
            f"{GRANTS}::TestToolScopes::test_without_the_scope_a_tool_is_neither_listed_nor_callable",
        ),
        ("tool_scopes: with the scope both", f"{GRANTS}::TestToolScopes::test_with_the_scope_it_is_both"),
        (
            "view require_scopes: without neither",
            f"{GRANTS}::TestViewRequiredScopes::test_a_jwt_without_the_scope_neither_lists_nor_calls_the_tool",
        ),
        (
            "view require_scopes: with both",
            f"{GRANTS}::TestViewRequiredScopes::test_a_jwt_with_the_scope_does_both",
        ),
        (
            "view require_scopes: other tools unaffected",
            f"{GRANTS}::TestViewRequiredScopes::test_the_other_tools_of_the_view_stay_usable_without_it",
        ),
        (
            "view: denied tool not listed",
            f"{VIEWS}::TestWhatEachPrincipalSees::test_a_view_lists_only_its_namespaces_minus_denied_tools",
        ),
        (
            "view: hidden tool not callable (answers like unknown)",
            f"{VIEWS}::TestHiddenAnswersLikeUnknown::test_a_hidden_tool_answers_exactly_like_one_that_does_not_exist",
        ),
        (
            "workflow outside the view not listed or callable",
            "tests/gateway/policies/test_oracles.py::test_a_workflow_outside_the_view_is_unknown",
        ),
        (
            "views (real process)",
            f"{FRONT_DOOR}::TestViews::test_ops_sees_everything_and_the_analyst_only_its_namespace",
        ),
    ],
    27: [
        (
            "Origin evil / null / repeated -> 403",
            f"{ORIGINS}::TestOrigin::test_a_foreign_null_or_repeated_origin_is_403",
        ),
        (
            "no Origin -> served",
            f"{ORIGINS}::TestOrigin::test_no_origin_is_a_non_browser_client_and_is_served",
        ),
        ("own Origin -> served", f"{ORIGINS}::TestOrigin::test_the_servers_own_origin_is_served"),
        ("listed Origin -> served, others 403", f"{ORIGINS}::TestOrigin::test_a_listed_origin_is_served"),
        (
            "two Origins on SSE /messages/ -> 403",
            f"{DOOR}::TestNoSideDoor::test_two_origins_are_forbidden_on_messages_too",
        ),
        ("Host not in allowlist -> 421", f"{ORIGINS}::TestHost::test_a_host_not_in_the_allowlist_is_refused"),
        (
            "Host in http.allowed_hosts -> served",
            f"{ORIGINS}::TestHost::test_a_host_in_http_allowed_hosts_is_served",
        ),
        ("default bind 127.0.0.1", f"{ORIGINS}::test_gateway_run_binds_127_0_0_1_by_default"),
        ("evil and null Origin -> 403 (real process)", f"{E2E_FRONT}::test_a_foreign_origin_is_refused"),
        ("foreign Host refused (real process)", f"{E2E_FRONT}::test_a_foreign_host_is_refused"),
        ("no Origin served (real process)", f"{E2E_FRONT}::test_a_request_without_origin_is_served"),
        (
            "two Origin headers -> 403 (real process)",
            f"{FRONT_DOOR}::TestSessions::test_two_origin_headers_are_403",
        ),
    ],
    28: [
        (
            "session ids carry 128 random bits (HTTP and SSE)",
            f"{FRONT_SESSIONS}::TestSessionIds::test_ids_carry_128_random_bits",
        ),
        (
            "ids in 0x21-0x7E, distinct",
            f"{FRONT_SESSIONS}::TestSessionIds::test_ids_are_visible_ascii_and_never_repeat",
        ),
        (
            "user B replaying A's id -> 404, A goes on",
            f"{FRONT_SESSIONS}::TestWhoMayUseASession::test_another_principal_replaying_an_id_gets_404_and_the_owner_goes_on",
        ),
        (
            "unknown session -> 404",
            f"{FRONT_SESSIONS}::TestWhoMayUseASession::test_an_unknown_session_is_404",
        ),
        (
            "missing session on non-initialize -> 400",
            f"{FRONT_SESSIONS}::TestWhoMayUseASession::test_a_request_without_a_session_that_needs_one_is_400",
        ),
        (
            "unsupported MCP-Protocol-Version in a session -> 400",
            f"{FRONT_SESSIONS}::TestProtocolVersion::test_an_unsupported_version_in_a_session_is_400",
        ),
        (
            "unsupported MCP-Protocol-Version, stateless -> 400",
            f"{FRONT_SESSIONS}::TestProtocolVersion::test_an_unsupported_version_without_a_session_is_400_naming_it",
        ),
        (
            "2 principals x 50 concurrent clients stay apart",
            f"{FRONT_SESSIONS}::test_two_principals_with_50_clients_each_stay_apart",
        ),
        (
            "per-client backend state apart",
            "tests/gateway/upstream/test_sessions.py::TestSessionScope::test_per_client_backends_keep_each_clients_state_apart",
        ),
        (
            "replay and unknown -> 404 (real process)",
            f"{FRONT_DOOR}::TestSessions::test_another_principal_cannot_use_a_session",
        ),
        (
            "missing session / bad version -> 400 (real process)",
            f"{FRONT_DOOR}::TestSessions::test_protocol_violations_are_400",
        ),
    ],
    29: [
        (
            "DNS resolved once per connection, the checked address used",
            f"{TARGETS}::test_a_rebinding_name_never_leads_past_the_allowlist",
        ),
        (
            "each target refused at load unless allowlisted",
            f"{TARGETS}::test_each_target_is_refused_at_load_unless_allowed",
        ),
        ("each target accepted once listed", f"{TARGETS}::test_each_target_is_accepted_once_listed"),
        (
            "default allowlist refuses every non-loopback target",
            f"{TARGETS}::test_the_default_allowlist_refuses_every_non_loopback_target",
        ),
        (
            "other notations of private/metadata addresses refused",
            "tests/gateway/base/test_egress.py::test_disallowed_addresses_in_any_notation_are_refused_at_load",
        ),
        (
            "link-local needs a literal entry",
            "tests/gateway/base/test_egress.py::test_link_local_needs_a_literal_entry",
        ),
        (
            "302 -> metadata not followed (client factory)",
            f"{TARGETS}::test_the_upstream_client_never_follows_a_redirect",
        ),
        (
            "302 -> metadata not followed (HTTP backend)",
            f"{TARGETS}::test_a_backend_redirecting_to_the_metadata_service_is_not_followed",
        ),
        (
            "every upstream HTTP client from the one factory",
            f"{TARGETS}::test_every_upstream_http_client_comes_from_the_one_factory",
        ),
        (
            "a name checked by what it resolves to",
            "tests/gateway/base/test_egress.py::test_a_name_is_checked_by_what_it_resolves_to",
        ),
    ],
    30: [
        (
            "description/schema drift detected by `gateway check`",
            f"{LOCK}::TestCheckReportsDrift::test_each_change_is_named_and_check_fails",
        ),
        ("hash pin is canonical", f"{LOCK}::TestDigests::test_canonical_json_ignores_key_order"),
        (
            "drift logged at run time (lock: warn)",
            f"{LOCK}::TestWarnAtRunTime::test_drift_found_on_catalog_load_is_logged_and_served",
        ),
        ("drift on a relist logged", f"{LOCK}::TestWarnAtRunTime::test_drift_on_a_relist_is_logged"),
        (
            "drift blocked (lock: block)",
            f"{LOCK}::TestBlockAtRunTime::test_changed_and_added_tools_are_hidden_and_refused_others_keep_working",
        ),
        (
            "drift on a relist blocked",
            f"{LOCK}::TestBlockAtRunTime::test_a_tool_that_drifts_on_a_relist_leaves_and_comes_back_after_relocking",
        ),
        (
            "same names on two backends served apart by namespace",
            f"{NAMESPACING}::test_backends_with_the_same_names_are_served_apart",
        ),
        (
            "a namespace's names are its backend's alone",
            f"{INDEX}::TestANamespaceOwnsItsNames::test_a_backend_without_a_namespace_listed_first_does_not_shadow_a_namespaced_tool",
        ),
        (
            "collision without namespaces recorded, first kept",
            "tests/gateway/relay/test_relay.py::TestNames::test_collisions_keep_the_first_backend_and_are_recorded",
        ),
        (
            "collision reported by `gateway check`",
            "tests/gateway/commands/test_cli.py::TestCheck::test_collisions_name_both_sources",
        ),
        (
            "duplicate namespaces rejected at load",
            "tests/gateway/config/test_config.py::TestErrorsNameThePath::test_two_backends_cannot_share_a_namespace",
        ),
    ],
    31: [
        (
            "command/args/cwd/env from config only, whatever the request",
            f"{STDIO}::test_every_spawn_uses_the_config_and_only_the_config",
        ),
        (
            "child processes built in one place from the config",
            f"{STDIO}::test_child_processes_are_started_in_one_place_from_the_config",
        ),
        (
            "env allowlist (real processes)",
            "tests/e2e/test_transports.py::test_a_stdio_backend_gets_only_a_safe_environment_and_what_its_config_gives",
        ),
    ],
    32: [
        (
            "internal exception text never reaches a client, both eras",
            f"{MASKING}::test_a_bug_in_the_pipeline_answers_a_generic_internal_error",
        ),
        (
            "internal exception text masked (2026-07-28 clients)",
            f"{MASKING}::test_a_bug_in_the_pipeline_answers_a_generic_internal_error",
        ),
        (
            "every gateway error maps to one JSON-RPC code",
            f"{ERRORS}::test_every_gateway_error_maps_to_a_json_rpc_error",
        ),
        (
            "only the mapping builds JSON-RPC errors",
            f"{ERRORS}::test_only_the_mapping_builds_json_rpc_errors",
        ),
    ],
    33: [
        (
            "one complete record per tools/call, no token, no argument values",
            f"{AUDIT}::test_each_call_leaves_one_complete_record_and_no_secret",
        ),
        (
            "one record per call, no secret (real process)",
            f"{FRONT_DOOR}::TestAudit::test_every_call_leaves_one_record_and_no_secret",
        ),
        ("refused call audited as denied", f"{VIEWS}::test_a_call_outside_the_view_is_audited_as_denied"),
        (
            "reads, prompts, completions audited too",
            "tests/gateway/policies/test_every_path.py::test_reads_prompts_and_completions_leave_audit_records",
        ),
        (
            "no secret in the gateway log (real process)",
            f"{FRONT_DOOR}::TestAudit::test_the_gateway_log_holds_no_secret",
        ),
    ],
}

NOT_MET: dict[int, list[tuple[str, str, str]]] = {}
"""Claims not met today: item → (claim, evidence, the strict expected-failure test); none now."""


def _defined(path: Path, names: list[str]) -> bool:
    """Whether `names` (a class, then a function; or a function) are defined in the file."""
    body: list[ast.stmt] = ast.parse(path.read_text()).body
    for name in names:
        found = next(
            (
                node
                for node in body
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name == name
            ),
            None,
        )
        if found is None:
            return False
        body = found.body if isinstance(found, ast.ClassDef) else []
    return True


def _problem(node_id: str) -> str | None:
    """What is wrong with a node id, or None."""
    file, *names = re.sub(r"\[.*\]$", "", node_id).split("::")
    path = ROOT / file
    if not names or not file.startswith("tests/") or not file.endswith(".py"):
        return f"{node_id}: not `tests/...py::[Class::]test_function`"
    if not path.is_file():
        return f"{node_id}: {file} does not exist"
    if not names[-1].startswith("test") or any(not n.startswith("Test") for n in names[:-1]):
        return f"{node_id}: pytest would not collect it (Test* classes, test* functions)"
    if not _defined(path, names):
        return f"{node_id}: {'::'.join(names)} is not defined in {file}"
    return None


def test_every_item_has_named_tests() -> None:
    assert set(CHECKLIST) == set(ITEMS)
    assert all(CHECKLIST[item] for item in ITEMS), [item for item in ITEMS if not CHECKLIST[item]]
    assert set(NOT_MET) <= set(ITEMS)


def test_every_claim_is_named_in_words() -> None:
    claims = [claim for entries in CHECKLIST.values() for claim, _ in entries]
    claims += [claim for entries in NOT_MET.values() for claim, _, _ in entries]
    assert all(claim.strip() for claim in claims)


@pytest.mark.parametrize("item", ITEMS)
def test_every_node_id_names_a_test_that_exists(item: int) -> None:
    node_ids = [node_id for _, node_id in CHECKLIST[item]]
    node_ids += [node_id for _, _, node_id in NOT_MET.get(item, [])]
    problems = [p for p in map(_problem, node_ids) if p is not None]
    assert problems == []


@pytest.mark.parametrize(
    "node_id",
    [
        "tests/no_such_file.py::test_x",
        "tests/test_reliability_checklist.py::test_no_such_test",
        "tests/test_reliability_checklist.py::TestNothing::test_every_item_has_named_tests",
        "tests/test_reliability_checklist.py",
        "tests/test_reliability_checklist.py::_problem",
    ],
)
def test_a_stale_node_id_is_caught(node_id: str) -> None:
    assert _problem(node_id) is not None


def test_a_parametrized_id_is_read_without_its_parameters() -> None:
    assert _problem("tests/test_reliability_checklist.py::test_a_stale_node_id_is_caught[x]") is None
    assert _problem(f"{BODY}::TestShape::test_a_json_rpc_batch_is_400") is None
