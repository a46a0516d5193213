"""Applying a plan: the batch commands that carry out a :class:`~oneroster_client.buzz.plan.Plan`.

:func:`apply_plan` sends the operations in plan order, batched per entity and action
through the typed :class:`~oneroster_client.buzz.BuzzClient` methods, and reports one
:class:`OperationOutcome` per operation. A failed item never stops the others; an
operation that needs the Buzz id of an object whose create did not land is skipped, never
sent with a made-up id. A held plan is refused unless approved.

Interrupted applies converge: every create carries the object's reference, so the next
run's :func:`~oneroster_client.buzz.current.read_buzz_state` finds what was created even
when the process died between Buzz's answer and the id being recorded, and the next plan
does not create it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import attrs

from oneroster_client.buzz.batch import BatchFailure, BatchResult, BatchSuccess
from oneroster_client.buzz.client import BuzzClient
from oneroster_client.buzz.errors import BuzzCommandError, BuzzError
from oneroster_client.buzz.plan import Action, Operation, Plan, Ref
from oneroster_client.errors import ConfigurationError

__all__ = ["ApplyResult", "OperationOutcome", "PlanHeldError", "apply_plan"]

logger = logging.getLogger("oneroster_client.buzz")

IdMap = MutableMapping[tuple[str, str], str]

_DONE_WORD = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.WITHDRAW: "withdrawn",
    Action.DELETE: "deleted",
    Action.GRANT: "created",
    Action.REVOKE: "deleted",
}
COUNT_WORDS = ("created", "updated", "withdrawn", "deleted", "failed", "skipped")
"""The keys of :meth:`ApplyResult.counts` per entity."""


class PlanHeldError(BuzzError):
    """A held plan was applied without approval (or with the approval of another plan).

    Attributes:
        plan_id: the plan's id (pass it as ``approve=`` after review).
        hold_reason: why the plan is held.
    """

    def __init__(self, text: str, *, plan_id: str, hold_reason: str | None) -> None:
        super().__init__(text)
        self.plan_id = plan_id
        self.hold_reason = hold_reason


@attrs.frozen(kw_only=True)
class OperationOutcome:
    """What happened to one operation.

    Attributes:
        operation: the operation.
        ok: Buzz accepted it.
        buzz_id: the object's Buzz id (for a create: the new id).
        code: the DLAP code of a failure (``"BadRequest"`` ...), or the error kind of a
            request that failed as a whole.
        message: why it failed or was skipped (never personal data or secrets).
        skipped: not sent (a dependency was not created, or the apply stopped).
    """

    operation: Operation
    ok: bool
    buzz_id: str | None
    code: str | None = None
    message: str | None = None
    skipped: bool = False


@attrs.frozen(kw_only=True)
class ApplyResult:
    """The outcome of :func:`apply_plan`.

    Attributes:
        outcomes: one per operation, in plan order (skipped ones included).
        stopped: why the apply stopped sending early (a request failed as a whole), if so.
    """

    outcomes: list[OperationOutcome]
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        """``True`` when every operation landed."""
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def failures(self) -> list[OperationOutcome]:
        """The operations that failed or were skipped."""
        return [outcome for outcome in self.outcomes if not outcome.ok]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per entity: created, updated, withdrawn, deleted, failed, skipped (observer
        grants count as created, revocations as deleted)."""
        counts: dict[str, dict[str, int]] = {}
        for outcome in self.outcomes:
            operation = outcome.operation
            per = counts.setdefault(operation.entity, dict.fromkeys(COUNT_WORDS, 0))
            if outcome.skipped:
                per["skipped"] += 1
            elif not outcome.ok:
                per["failed"] += 1
            else:
                per[_DONE_WORD[operation.action]] += 1
        return counts


def _check_approval(plan: Plan, approve: bool | str) -> None:
    if not plan.held or approve is True or (isinstance(approve, str) and approve == plan.id):
        return
    if isinstance(approve, str) and approve:
        text = (
            f"plan {plan.id} is held ({plan.hold_reason}); the approval given is for plan "
            f"{approve!r}, not this one: review this plan and approve its id"
        )
    else:
        text = (
            f"plan {plan.id} is held ({plan.hold_reason}); review it and apply with "
            f"approve=True or approve={plan.id!r}"
        )
    raise PlanHeldError(text, plan_id=plan.id, hold_reason=plan.hold_reason)


def _command(operation: Operation) -> str:
    entity, action = operation.entity, operation.action
    if entity == "observers":
        return "updaterights"
    if action is Action.CREATE:
        if entity == "courses":
            return "copycourses" if "courseid" in operation.payload else "createcourses"
        return {"domains": "createdomains", "users": "createusers2"}.get(
            entity, "createenrollments"
        )
    if action in (Action.UPDATE, Action.WITHDRAW):
        return {
            "domains": "updatedomains",
            "users": "updateusers",
            "courses": "updatecourses",
        }.get(entity, "updateenrollments")
    return {
        "domains": "deletedomain",
        "users": "deleteusers",
        "courses": "deletecourses",
    }.get(entity, "deleteenrollments")


Sender = Callable[[BuzzClient, list[Any]], BatchResult]


def _delete_domains(buzz: BuzzClient, items: list[Any]) -> BatchResult:
    """``deletedomain`` takes one domain per request; results gathered as a batch."""
    succeeded: list[BatchSuccess] = []
    failed: list[BatchFailure] = []
    for index, item in enumerate(items):
        try:
            buzz.delete_domain(item["domainid"], cascade=True)
        except BuzzCommandError as error:
            failed.append(
                BatchFailure(input=item, index=index, code=error.code, message=error.message)
            )
        except BuzzError as error:
            error.partial = BatchResult(
                command="deletedomain", succeeded=tuple(succeeded), failed=tuple(failed)
            )
            raise
        else:
            succeeded.append(BatchSuccess(item, {"code": "OK"}))
    return BatchResult(command="deletedomain", succeeded=tuple(succeeded), failed=tuple(failed))


def _ids(items: list[Any], key: str) -> list[Any]:
    return [item[key] for item in items]


# Deletes are sent only when the plan holds them, and the plan holds them only when the
# settings allow them; ``cascade=True`` confirms what the settings already allowed.
_SENDERS: dict[str, Sender] = {
    "createdomains": lambda buzz, items: buzz.create_domains(items),
    "updatedomains": lambda buzz, items: buzz.update_domains(items),
    "deletedomain": _delete_domains,
    "createusers2": lambda buzz, items: buzz.create_users(items),
    "updateusers": lambda buzz, items: buzz.update_users(items),
    "deleteusers": lambda buzz, items: buzz.delete_users(items, cascade=True),
    "createcourses": lambda buzz, items: buzz.create_courses(items),
    "copycourses": lambda buzz, items: buzz.copy_courses(items),
    "updatecourses": lambda buzz, items: buzz.update_courses(items),
    "deletecourses": lambda buzz, items: buzz.delete_courses(items, cascade=True),
    "createenrollments": lambda buzz, items: buzz.create_enrollments(items),
    "updateenrollments": lambda buzz, items: buzz.update_enrollments(items),
    "deleteenrollments": lambda buzz, items: buzz.delete_enrollments(items),
    "updaterights": lambda buzz, items: buzz.update_rights(items),
}
_ID_KEYS = {
    "deleteusers": "userid",
    "deletecourses": "courseid",
    "deleteenrollments": "enrollmentid",
}


def _batches(operations: Sequence[Operation]) -> Iterator[tuple[str, list[Operation]]]:
    """Runs of consecutive operations sent with the same command."""
    run: list[Operation] = []
    command = ""
    for operation in operations:
        this = _command(operation)
        if run and this != command:
            yield command, run
            run = []
        command = this
        run.append(operation)
    if run:
        yield command, run


@attrs.define
class _Run:
    """The state of one apply: ids created so far and outcomes reported."""

    buzz: BuzzClient
    id_map: IdMap | None
    on_outcome: Callable[[OperationOutcome], None] | None
    planned: set[tuple[str, str]]
    created: dict[tuple[str, str], str] = attrs.field(factory=dict)
    outcomes: list[OperationOutcome] = attrs.field(factory=list)
    stopped: str | None = None

    def report(self, outcome: OperationOutcome) -> None:
        self.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    def lookup(self, ref: Ref) -> str | None:
        """The id of a referenced object: created in this apply, or, when this plan does
        not create it, recorded by an earlier one."""
        key = (ref.entity, ref.reference)
        if key in self.created:
            return self.created[key]
        if key in self.planned or self.id_map is None:
            return None
        return self.id_map.get(key)

    def resolve(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], Ref | None]:
        """The payload with every :class:`Ref` replaced by its id, or the first missing one."""
        resolved: dict[str, Any] = {}
        for name, value in payload.items():
            if isinstance(value, Ref):
                found = self.lookup(value)
                if found is None:
                    return resolved, value
                value = found
            resolved[name] = value
        return resolved, None

    def send(self, command: str, operations: list[Operation]) -> None:
        """Send one run of operations; report every outcome."""
        if self.stopped is not None:
            for operation in operations:
                self.report(_skipped(operation, f"not sent: {self.stopped}"))
            return
        ready: list[tuple[Operation, dict[str, Any]]] = []
        for operation in operations:
            payload, missing = self.resolve(operation.payload)
            if missing is None:
                ready.append((operation, payload))
            else:
                reason = f"not sent: it needs {missing}, which was not created"
                self.report(_skipped(operation, reason))
        if ready:
            self.land(command, ready)

    def land(self, command: str, ready: list[tuple[Operation, dict[str, Any]]]) -> None:
        key = _ID_KEYS.get(command)
        items = [payload[key] if key else payload for _, payload in ready]
        try:
            result = _SENDERS[command](self.buzz, items)
        except ConfigurationError as error:
            # Nothing was sent: the items were refused before the request.
            result = _failed_all(command, items, "InvalidItem", str(error))
        except BuzzError as error:
            partial = error.partial if isinstance(error.partial, BatchResult) else None
            self.stopped = f"{command} failed as a whole ({type(error).__name__}: {error})"
            logger.warning("Buzz apply: %s; later operations are not sent", self.stopped)
            result = _merge(partial, command, items, type(error).__name__, self.stopped)
        outcomes = _outcomes(ready, items, result)
        for outcome in outcomes:
            operation = outcome.operation
            if outcome.ok and operation.action is Action.CREATE and outcome.buzz_id:
                self.created[(operation.entity, operation.reference)] = outcome.buzz_id
                if self.id_map is not None:
                    self.id_map[(operation.entity, operation.reference)] = outcome.buzz_id
        for outcome in outcomes:
            self.report(outcome)


def _skipped(operation: Operation, reason: str) -> OperationOutcome:
    return OperationOutcome(
        operation=operation, ok=False, buzz_id=operation.buzz_id, message=reason, skipped=True
    )


def _failed_all(command: str, items: list[Any], code: str, message: str) -> BatchResult:
    failures = (
        BatchFailure(input=item, index=index, code=code, message=message)
        for index, item in enumerate(items)
    )
    return BatchResult(command=command, failed=tuple(failures))


def _merge(
    partial: BatchResult | None, command: str, items: list[Any], code: str, message: str
) -> BatchResult:
    """The items a failed request handled, plus a failure for each item it did not."""
    handled: tuple[BatchSuccess | BatchFailure, ...] = (
        () if partial is None else (*partial.succeeded, *partial.failed)
    )
    seen = {id(outcome.input) for outcome in handled}
    rest = [
        BatchFailure(input=item, index=index, code=code, message=message)
        for index, item in enumerate(items)
        if id(item) not in seen
    ]
    succeeded = () if partial is None else partial.succeeded
    failed = (*(() if partial is None else partial.failed), *rest)
    return BatchResult(command=command, succeeded=succeeded, failed=failed)


def _outcomes(
    ready: list[tuple[Operation, dict[str, Any]]], items: list[Any], result: BatchResult
) -> list[OperationOutcome]:
    """One outcome per operation, in the order sent, matched by the item object."""
    answers: dict[int, BatchSuccess | BatchFailure] = {}
    handled: tuple[BatchSuccess | BatchFailure, ...] = (*result.succeeded, *result.failed)
    for answer in handled:
        answers[id(answer.input)] = answer
    outcomes = []
    for (operation, _), item in zip(ready, items, strict=True):
        outcomes.append(_outcome(operation, answers.get(id(item))))
    return outcomes


def _outcome(operation: Operation, answer: BatchSuccess | BatchFailure | None) -> OperationOutcome:
    if answer is None:
        return OperationOutcome(
            operation=operation,
            ok=False,
            buzz_id=operation.buzz_id,
            code="OutcomeUnknown",
            message="Buzz gave no result for this item",
        )
    if isinstance(answer, BatchFailure):
        return OperationOutcome(
            operation=operation,
            ok=False,
            buzz_id=operation.buzz_id,
            code=answer.code,
            message=answer.message,
        )
    if operation.action is not Action.CREATE:
        return OperationOutcome(operation=operation, ok=True, buzz_id=operation.buzz_id)
    if answer.id is None:
        return OperationOutcome(
            operation=operation,
            ok=False,
            buzz_id=None,
            code="MissingId",
            message="Buzz answered OK without the new id; the next run finds the object by "
            "its reference",
        )
    return OperationOutcome(operation=operation, ok=True, buzz_id=answer.id)


def apply_plan(
    plan: Plan,
    buzz: BuzzClient,
    *,
    approve: bool | str = False,
    id_map: IdMap | None = None,
    on_outcome: Callable[[OperationOutcome], None] | None = None,
) -> ApplyResult:
    """Carry out a plan against Buzz.

    Operations are sent in plan order, batched per command. Per-item failures become
    failed outcomes and the other items land; an operation needing the id of an object
    whose create failed is skipped. When a request fails as a whole (Buzz unreachable or
    throttling beyond the retry policy), its unconfirmed items fail and every later
    operation is skipped (``ApplyResult.stopped`` says why).

    Args:
        plan: from :func:`~oneroster_client.buzz.plan.plan_roster`.
        buzz: the Buzz client.
        approve: ``True`` or the plan's id to apply a held plan.
        id_map: ``(entity, reference) -> Buzz id``; each create's id is written as soon
            as Buzz answers, and ids of objects this plan does not create are read from it.
        on_outcome: called after every operation with its outcome (an exception raised
            by it stops the apply and propagates).

    Returns:
        One outcome per operation.

    Raises:
        PlanHeldError: the plan is held and ``approve`` is neither ``True`` nor its id.
    """
    _check_approval(plan, approve)
    planned = {(o.entity, o.reference) for o in plan.operations if o.action is Action.CREATE}
    run = _Run(buzz=buzz, id_map=id_map, on_outcome=on_outcome, planned=planned)
    for command, operations in _batches(plan.operations):
        run.send(command, operations)
    return ApplyResult(outcomes=run.outcomes, stopped=run.stopped)
