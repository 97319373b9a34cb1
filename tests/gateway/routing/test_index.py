"""The route index on its own, in memory: a namespace's names belong to its backend alone.

A backend without a namespace serves its names as they are, so it could list `analytics_run` or
`data://analytics/secrets` and take them from the backend whose namespace is `analytics` (the
first backend in the file kept a contested name). Those names are the namespace's, whichever
backend comes first, and the attempt is a collision that `gateway check` reports.
"""

from __future__ import annotations

from gateway.routing.index import BackendView, RouteIndex
from gateway.upstream.catalog import Listing


def backend(
    name: str,
    namespace: str,
    *,
    tools: tuple[str, ...] = (),
    prompts: tuple[str, ...] = (),
    resources: tuple[str, ...] = (),
    templates: tuple[str, ...] = (),
) -> BackendView:
    """A backend listing items by name (tools, prompts) or URI (resources, templates)."""
    listing = Listing(
        tools=tuple({"name": n} for n in tools),
        prompts=tuple({"name": n} for n in prompts),
        resources=tuple({"uri": u} for u in resources),
        templates=tuple({"uriTemplate": t} for t in templates),
    )
    return BackendView(name, namespace, listing)


ANALYTICS = backend(
    "analytics",
    "analytics",
    tools=("run",),
    prompts=("brief",),
    resources=("data://report",),
    templates=("data://rows/{id}",),
)


class TestANamespaceOwnsItsNames:
    def test_a_backend_without_a_namespace_listed_first_does_not_shadow_a_namespaced_tool(self) -> None:
        """Regression: the first backend in the file kept `analytics_run`; a warning was all."""
        index = RouteIndex.build([backend("rogue", "", tools=("analytics_run",)), ANALYTICS])
        assert index.tools["analytics_run"].backend == "analytics"
        assert index.collisions == [
            "tool 'analytics_run': backend 'rogue' ('analytics_run') has no namespace and may not take "
            "a name in namespace 'analytics' (backend 'analytics')"
        ]

    def test_listed_after_it_is_refused_the_same_way(self) -> None:
        """The order of the file does not matter."""
        index = RouteIndex.build([ANALYTICS, backend("rogue", "", tools=("analytics_run",))])
        assert index.tools["analytics_run"].backend == "analytics"
        assert (
            len(index.collisions) == 1
            and "backend 'rogue' ('analytics_run') has no namespace" in index.collisions[0]
        )

    def test_a_name_the_namespaced_backend_does_not_have_is_still_its_namespaces(self) -> None:
        """`analytics_export` is not `rogue`'s to serve, even while `analytics` lists no such tool."""
        index = RouteIndex.build([backend("rogue", "", tools=("analytics_export", "ok")), ANALYTICS])
        assert "analytics_export" not in index.tools and index.tools["ok"].backend == "rogue"
        assert "backend 'analytics'" in index.collisions[0]

    def test_a_name_that_becomes_namespaced_once_cleaned_is_refused_too(self) -> None:
        """`analytics run` is served as `analytics_run`: the check is on the name clients see."""
        index = RouteIndex.build([ANALYTICS, backend("rogue", "", tools=("analytics run",))])
        assert index.tools["analytics_run"].backend_id == "run"
        assert index.collisions[0].startswith(
            "tool 'analytics_run': backend 'rogue' ('analytics run') has no namespace"
        )

    def test_prompts_are_held_to_the_same_rule(self) -> None:
        """A prompt name under another namespace is refused as a tool name is."""
        index = RouteIndex.build([backend("rogue", "", prompts=("analytics_brief",)), ANALYTICS])
        assert index.prompts["analytics_brief"].backend == "analytics"
        assert index.collisions[0].startswith("prompt 'analytics_brief': backend 'rogue'")

    def test_a_namespace_with_an_underscore_owns_its_names_too(self) -> None:
        """`my_tools_x` is under the namespace `my_tools`, not merely `my`."""
        mine = backend("mine", "my_tools", tools=("x",))
        index = RouteIndex.build([backend("rogue", "", tools=("my_tools_y", "my_z")), mine])
        assert set(index.tools) == {"my_tools_x", "my_z"} and "namespace 'my_tools'" in index.collisions[0]

    def test_names_that_only_look_alike_stay_with_the_backend_without_a_namespace(self) -> None:
        """Only `<namespace>_...` is the namespace's: `analytics`, `analyticsx`, `analytics.x` are not."""
        names = ("analytics", "analyticsx", "analytics.x", "ghost_x")
        index = RouteIndex.build([backend("rogue", "", tools=names), ANALYTICS])
        assert {n: index.tools[n].backend for n in names} == dict.fromkeys(names, "rogue")
        assert index.collisions == []

    def test_namespaces_of_backends_not_listed_now_count_too(self) -> None:
        """A namespace whose backend is down (no listing) still owns its names."""
        index = RouteIndex.build(
            [backend("rogue", "", tools=("analytics_run",))],
            namespaces={"rogue": "", "analytics": "analytics"},
        )
        assert index.tools == {} and "backend 'analytics'" in index.collisions[0]


class TestANamespaceOwnsItsUris:
    def test_a_resource_uri_under_another_namespace_is_refused(self) -> None:
        """`data://analytics/...` is the `analytics` backend's, whoever lists it first."""
        rogue = backend("rogue", "", resources=("data://analytics/report", "data://rogue-own"))
        index = RouteIndex.build([rogue, ANALYTICS])
        assert index.resources["data://analytics/report"].backend == "analytics"
        assert index.resources["data://rogue-own"].backend == "rogue"
        assert index.collisions == [
            "resource 'data://analytics/report': backend 'rogue' has no namespace and may not take "
            "a URI in namespace 'analytics' (backend 'analytics')"
        ]

    def test_a_resource_template_under_another_namespace_is_refused(self) -> None:
        """A template is held to the same rule as a concrete URI."""
        index = RouteIndex.build([backend("rogue", "", templates=("data://analytics/rows/{id}",)), ANALYTICS])
        assert [t.backend for t in index.templates] == ["analytics"]
        assert index.collisions[0].startswith(
            "resource template 'data://analytics/rows/{id}': backend 'rogue'"
        )

    def test_a_broad_template_does_not_catch_uris_of_another_namespace(self) -> None:
        """`data://{a}/{b}` listed first still leaves `data://analytics/...` to `analytics`."""
        index = RouteIndex.build([backend("rogue", "", templates=("data://{a}/{b}",)), ANALYTICS])
        found = index.find_template("data://analytics/rows/7")
        assert found is not None and found.backend == "analytics"
        elsewhere = index.find_template("data://elsewhere/7")
        assert elsewhere is not None and elsewhere.backend == "rogue"
        assert index.find_template("data://analytics/7") is None, "the namespace's, though it has no such URI"
