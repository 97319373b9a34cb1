"""The lockfile at run time: each backend's `lock` policy, applied to every listing of it.

    off     the lockfile is not consulted
    warn    drift is logged, naming what changed; the new definitions are served
    block   only definitions that match the lock are served; changed and added ones are held
            back (absent from the lists, calls refused saying why) until `gateway lock` runs
            again; unchanged ones keep working

The default is `warn` when the lockfile exists, else `off`. `LockGuard.for_config` reads the
lockfile when the gateway adopts a config (at start and on every reload, so a reload picks up
a new lock). The guard sits where the route index is built from the backends' listings, so a
catalog load, a `list_changed` re-list and a per-client listing all pass through it. Reviews
are cached by listing object, and each distinct drift is logged once, however many listings
(clients' own sessions among them) show it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gateway.config import GatewayConfig
from gateway.config.model import LockPolicy
from gateway.errors import ConfigError, RequestRejected
from gateway.routing.index import BackendView, Route, RouteIndex
from gateway.routing.lockfile import KINDS, Change, LockedBackend, Lockfile, diff, drift_lines
from gateway.upstream.catalog import Item, Listing

logger = logging.getLogger("gateway.lock")

MAX_REVIEWS = 256
"""Listings whose review is kept (shared listings and per-client ones)."""
REFUSAL_REASON = "lock_drift"


@dataclass(frozen=True)
class Review:
    """One listing of one backend, compared with the lock."""

    served: Listing
    held: Listing = field(default_factory=Listing)
    changes: tuple[Change, ...] = ()


class LockGuard:
    """Compares listings with the lockfile and applies each backend's policy.

    `lockfile` is None when the file does not exist or cannot be read (`problem` says why); a
    `block` backend then serves nothing, since nothing of it is known to be approved.
    """

    def __init__(
        self,
        path: Path,
        lockfile: Lockfile | None,
        policies: Mapping[str, LockPolicy],
        *,
        problem: str | None = None,
    ) -> None:
        self.path = path
        self.lockfile = lockfile
        self.policies = dict(policies)
        self.problem = problem
        self.held = RouteIndex()
        """What `block` holds back of the shared listings, indexed under the names clients use."""
        self._reviews: OrderedDict[tuple[str, int], tuple[Listing, Review]] = OrderedDict()
        self._held_as: dict[tuple[str, str, str], str] = {}
        self._told: set[tuple[str, tuple[str, ...]]] = set()

    @classmethod
    def for_config(cls, config: GatewayConfig, base_dir: Path) -> LockGuard:
        """The guard of a config: its lockfile (`gateway.routing.lockfile`) and each backend's policy."""
        path = base_dir / config.gateway.lockfile
        exists = path.exists()
        lockfile, problem = None, None
        if exists:
            try:
                lockfile = Lockfile.read(path)
            except ConfigError as error:
                problem = "; ".join(error.problems)
                logger.error(
                    "%s: %s; backends with `lock: block` serve nothing until it is fixed", path, problem
                )
        default: LockPolicy = "warn" if exists else "off"
        policies = {name: b.lock or default for name, b in config.backends.items()}
        return cls(path, lockfile, policies, problem=problem)

    def policy(self, backend: str) -> LockPolicy:
        """The policy of one backend (`off` for one the config does not name)."""
        return self.policies.get(backend, "off")

    def locked(self, backend: str) -> LockedBackend | None:
        """The backend's entry in the lockfile (None: not locked, or no readable lockfile)."""
        return self.lockfile.backends.get(backend) if self.lockfile is not None else None

    # -- listings --------------------------------------------------------------------------

    def build(
        self,
        views: Sequence[BackendView],
        *,
        shared: bool = True,
        namespaces: Mapping[str, str] | None = None,
    ) -> RouteIndex:
        """The route index of `views` with each backend's policy applied.

        `shared`: these are the listings every client sees (not one client's own), so what is
        held back is remembered for refusals (`held`). `namespaces` (backend → namespace) are
        every configured backend's, listed now or not: no other backend may use them.
        """
        reviewed = [(view, self.review(view.name, view.listing)) for view in views]
        if shared:
            self.held = RouteIndex.build(
                [replace(v, listing=r.held) for v, r in reviewed if r.held != Listing()],
                namespaces=namespaces,
            )
        return RouteIndex.build([replace(v, listing=r.served) for v, r in reviewed], namespaces=namespaces)

    def review(self, backend: str, listing: Listing) -> Review:
        """Compare one listing with the lock (once per listing object) and apply the policy."""
        policy = self.policy(backend)
        if policy == "off":
            return Review(served=listing)
        key = (backend, id(listing))
        cached = self._reviews.get(key)
        if cached is not None and cached[0] is listing:
            return cached[1]
        locked = self.locked(backend)
        changes = diff(locked, LockedBackend.of(listing))
        review = self._apply(backend, policy, listing, changes, unlocked=locked is None)
        self._log(backend, policy, locked, changes)
        self._reviews[key] = (listing, review)  # the entry keeps the listing, so its id stays unique
        while len(self._reviews) > MAX_REVIEWS:
            self._reviews.popitem(last=False)
        return review

    def _apply(
        self, backend: str, policy: LockPolicy, listing: Listing, changes: list[Change], *, unlocked: bool
    ) -> Review:
        if policy != "block":
            return Review(served=listing, changes=tuple(changes))
        held_keys = {(c.kind, c.key): c.what for c in changes if c.what != "removed"}
        if not held_keys:
            return Review(served=listing, changes=tuple(changes))
        served: dict[str, tuple[Item, ...]] = {}
        held: dict[str, tuple[Item, ...]] = {}
        for kind, (identity, _) in KINDS.items():
            items = getattr(listing, kind)
            held[kind] = tuple(i for i in items if (kind, i.get(identity)) in held_keys)
            served[kind] = tuple(i for i in items if (kind, i.get(identity)) not in held_keys)
        for (kind, item_key), what in held_keys.items():
            self._held_as[(backend, kind, item_key)] = "unlocked" if unlocked else what
        return Review(served=Listing(**served), held=Listing(**held), changes=tuple(changes))

    def _log(
        self, backend: str, policy: LockPolicy, locked: LockedBackend | None, changes: list[Change]
    ) -> None:
        if locked is not None and not changes:
            return
        lines = drift_lines(backend, locked, changes, self.path.name)
        told = (backend, tuple(lines))
        if told in self._told:
            return  # the same drift, seen in another listing (a client's own session): said once
        self._told.add(told)
        whats = [None] if locked is None else [c.what for c in changes]
        for line, what in zip(lines, whats, strict=True):
            if what == "removed":
                consequence = "no longer offered"
            elif policy == "block":
                consequence = "held back until `gateway lock` is run again (lock: block)"
            else:
                consequence = "served as it is now (lock: warn)"
            logger.warning("%s: %s", line, consequence)

    # -- calls -----------------------------------------------------------------------------

    def refusal(self, held: RouteIndex, kind: str, name: str) -> RequestRejected | None:
        """The error for a call to a held-back name (`held`: the part the caller may see)."""
        route: Route | None
        if kind == "resources":
            route = held.resources.get(name)
            if route is None:
                route, kind = held.find_template(name), "templates"
                name = str(route.item.get("uriTemplate")) if route is not None else name
        else:
            route = (held.tools if kind == "tools" else held.prompts).get(name)
        if route is None:
            return None
        what = self._held_as.get((route.backend, kind, route.backend_id), "unlocked")
        why = {
            "changed": "changed since it was locked",
            "added": "was added since it was locked",
        }.get(what, f"is not in {self.path.name}")
        return RequestRejected(
            f"{KINDS[kind][1]} {name} of backend {route.backend} {why}; re-run `gateway lock`",
            reason=REFUSAL_REASON,
        )

    @property
    def holds_anything(self) -> bool:
        """Whether any shared listing has something held back."""
        held = self.held
        return bool(held.tools or held.prompts or held.resources or held.templates)
