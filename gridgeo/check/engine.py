"""The check as declared steps: what each needs and writes, run in dependency order.

A :class:`Step` names the layers it needs (it does not run without them), the layers
it uses when they are there, and the layers it writes. :func:`order_steps` derives the
order from those declarations alone; :func:`run_steps` runs every step whose needs
are present, in that order, and says of every other step why it did not run.

Examples
--------
>>> steps = [Step("area", lambda c: c["width"] * c["height"], needs=("width", "height")),
...          Step("half", lambda c: c["area"] / 2, needs=("area",))]
>>> r = run_steps(steps, {"width": 3, "height": 4}, policy=Policy(),
...               as_of=dt.date(2026, 3, 9), timezone="Asia/Shanghai")
>>> dict(r), r.ran
({'area': 12, 'half': 6.0}, ('area', 'half'))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gridgeo.policy import Policy
from gridgeo.store.base import Progress

__all__ = ["CheckResults", "Context", "Declared", "Step", "Steps", "order_steps", "run_steps"]


class Declared(Mapping[str, Any]):
    """The layers a step declared (``needs`` and ``uses``) of those there are; no others.

    Asking for a layer the step did not declare raises ``KeyError`` naming it, so a
    step cannot come to depend on a layer its declaration does not show.
    """

    def __init__(self, layers: Mapping[str, Any], step: Step) -> None:
        self._layers = layers
        self._step = step
        self._names = (*step.needs, *step.uses)

    def _declared(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(f"step {self._step.name} did not declare the layer {name!r}")

    def __getitem__(self, name: str) -> Any:
        self._declared(name)
        return self._layers[name]

    def get(self, name: str, default: Any = None) -> Any:
        """The layer, or ``default`` when it is not there."""
        self._declared(name)
        return self._layers.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._names if name in self._layers)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Context:
    """What a step is given: the layers it declared and the check's options."""

    #: the inputs and the layers written by the steps before, those the step declared
    layers: Mapping[str, Any]
    policy: Policy
    #: the date the check is made at (a local date)
    as_of: dt.date
    #: the district's time zone
    timezone: str
    #: where each input came from (file paths, or the store's URL)
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def start(self) -> dt.date:
        """First day of the period visits and meetings are reviewed over."""
        return self.as_of - dt.timedelta(weeks=self.policy.review_weeks)

    def __getitem__(self, name: str) -> Any:
        return self.layers[name]

    def get(self, name: str) -> Any:
        """The layer, or None when there is none."""
        return self.layers.get(name)


@dataclass(frozen=True)
class Step:
    """One step of the check.

    Attributes
    ----------
    name
        The step's name (the layer it writes, unless ``writes`` says otherwise).
    run
        ``run(context)`` returns the layer it writes (a dict of them when it writes
        several), or None when it has nothing to write.
    needs
        Layers without which the step does not run.
    uses
        Layers the step uses when they are there.
    writes
        The layers it writes; default ``(name,)``.
    internal
        Its layers feed other steps and are not results of the check.
    absent
        Why it may write nothing (said of the steps that then cannot run).
    """

    name: str
    run: Callable[[Context], Any]
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    internal: bool = False
    absent: str = ""

    @property
    def outputs(self) -> tuple[str, ...]:
        """The layers the step writes."""
        return self.writes or (self.name,)


class Steps(list[Step]):
    """Steps in the order they are declared; :meth:`declare` makes a function one of them."""

    def declare(
        self,
        *,
        needs: Sequence[str] = (),
        uses: Sequence[str] = (),
        writes: Sequence[str] = (),
        internal: bool = False,
        absent: str = "",
    ) -> Callable[[Callable[[Context], Any]], Step]:
        """A decorator: the function becomes a :class:`Step` named after it, appended here.

        Examples
        --------
        >>> steps = Steps()
        >>> @steps.declare(needs=("width",))
        ... def double(c):
        ...     return 2 * c["width"]
        >>> steps[0].name, steps[0].needs, steps[0].outputs
        ('double', ('width',), ('double',))
        """

        def declare(run: Callable[[Context], Any]) -> Step:
            step = Step(
                run.__name__, run, tuple(needs), tuple(uses), tuple(writes), internal, absent
            )
            self.append(step)
            return step

        return declare


class CheckResults(dict[str, Any]):
    """The result layers by name, and which steps did not run and why.

    A plain ``dict`` of the layers (in the order the steps are declared) with three
    attributes: ``ran``, the names of the steps that ran, in the order they ran;
    ``skipped``, step name → reason, for the steps that did not run (an input they
    need is missing) or ran and had nothing to write; and ``not_computed``, result
    layer → reason, for the result layers of the steps that did not run.
    """

    def __init__(
        self,
        layers: Mapping[str, Any],
        ran: Sequence[str] = (),
        skipped: Mapping[str, str] | None = None,
        not_computed: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(layers)
        self.ran: tuple[str, ...] = tuple(ran)
        self.skipped: dict[str, str] = dict(skipped or {})
        self.not_computed: dict[str, str] = dict(not_computed or {})


def _writers(steps: Sequence[Step]) -> dict[str, Step]:
    """The step writing each layer; every layer is written by one step only."""
    writer: dict[str, Step] = {}
    for step in steps:
        for layer in step.outputs:
            if layer in writer:
                raise ValueError(f"{layer!r} is written by {writer[layer].name} and {step.name}")
            writer[layer] = step
    return writer


def order_steps(steps: Sequence[Step]) -> list[Step]:
    """The steps in an order where each comes after the steps writing what it needs or uses.

    Among steps free to run, the one declared first runs first, so steps declared in
    dependency order keep their order.

    Raises
    ------
    ValueError
        Two steps write the same layer, or the steps depend on each other in a circle.

    Examples
    --------
    >>> a = Step("a", lambda c: 1, needs=("b",))
    >>> b = Step("b", lambda c: 2)
    >>> [s.name for s in order_steps([a, b])]
    ['b', 'a']
    """
    writer = _writers(steps)
    after = {
        step.name: {writer[n].name for n in (*step.needs, *step.uses) if n in writer} - {step.name}
        for step in steps
    }
    ordered: list[Step] = []
    done: set[str] = set()
    while len(ordered) < len(steps):
        ready = next((s for s in steps if s.name not in done and after[s.name] <= done), None)
        if ready is None:
            circle = sorted(s.name for s in steps if s.name not in done)
            raise ValueError(f"the steps {', '.join(circle)} depend on each other")
        ordered.append(ready)
        done.add(ready.name)
    return ordered


def _present(layers: Mapping[str, Any], name: str) -> bool:
    return layers.get(name) is not None


def _lacking(
    step: Step,
    layers: Mapping[str, Any],
    writer: Mapping[str, Step],
    lacks: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What ``step`` lacks: the inputs missing (through the steps before it), and else why.

    Returns the missing inputs, and the ``absent`` texts of the steps before it that
    ran and wrote nothing it needs.
    """
    inputs: list[str] = []
    texts: list[str] = []
    for name in step.needs:
        if _present(layers, name):
            continue
        source = writer.get(name)
        if source is None:
            more_inputs, more_texts = (name,), ()
        elif source.name in lacks:
            more_inputs, more_texts = lacks[source.name]
        else:
            more_inputs, more_texts = (), (source.absent or f"{source.name} wrote no {name}",)
        inputs += [n for n in more_inputs if n not in inputs]
        texts += [t for t in more_texts if t not in texts]
    return tuple(inputs), tuple(texts)


def _reason(inputs: tuple[str, ...], texts: tuple[str, ...]) -> str:
    """``no visits or assignments in the inputs``, or the texts when no input is missing."""
    if inputs:
        names = inputs[0] if len(inputs) == 1 else f"{', '.join(inputs[:-1])} or {inputs[-1]}"
        return f"no {names} in the inputs"
    return "; ".join(texts)


def _written(step: Step, value: Any) -> Iterator[tuple[str, Any]]:
    if len(step.outputs) == 1:
        yield step.outputs[0], value
    elif value is not None:
        yield from ((name, value.get(name)) for name in step.outputs)


def run_steps(
    steps: Sequence[Step],
    layers: Mapping[str, Any],
    *,
    policy: Policy,
    as_of: dt.date,
    timezone: str,
    sources: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    keep: Sequence[str] = (),
) -> CheckResults:
    """Run the steps whose needs are present, in dependency order.

    Parameters
    ----------
    steps
        The steps, as declared.
    layers
        The inputs by name (None or a missing name: not given).
    policy, as_of, timezone, sources
        Handed to every step in its :class:`Context`.
    progress
        Called as ``progress("checking: <step>", done, total)`` before each step runs
        and ``progress("checking: <n> steps done", total, total)`` at the end.

    Returns
    -------
    CheckResults
        The layers of the steps that are not ``internal``, in the order the steps are
        declared, and the steps that did not run with the reason.

    Examples
    --------
    >>> steps = [Step("double", lambda c: 2 * c["n"], needs=("n",)),
    ...          Step("half", lambda c: c["m"] / 2, needs=("m",))]
    >>> r = run_steps(steps, {"n": 21}, policy=Policy(), as_of=dt.date(2026, 3, 9),
    ...               timezone="Asia/Shanghai")
    >>> dict(r), r.skipped, r.not_computed
    ({'double': 42}, {'half': 'no m in the inputs'}, {'half': 'no m in the inputs'})
    """
    writer = _writers(steps)
    available = {name: value for name, value in layers.items() if value is not None}
    if clash := sorted(set(writer) & set(layers)):
        raise ValueError(f"the inputs hold layers the steps write: {', '.join(clash)}")
    ordered = order_steps(steps)
    ran: list[str] = []
    skipped: dict[str, str] = {}
    lacks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for done, step in enumerate(ordered):
        if not all(_present(available, name) for name in step.needs):
            lacks[step.name] = _lacking(step, available, writer, lacks)
            skipped[step.name] = _reason(*lacks[step.name])
            continue
        if progress:
            progress(f"checking: {step.name}", done, len(ordered))
        context = Context(Declared(available, step), policy, as_of, timezone, dict(sources or {}))
        written = {n: v for n, v in _written(step, step.run(context)) if v is not None}
        available.update(written)
        ran.append(step.name)
        if not written:
            skipped[step.name] = step.absent or "nothing to write"
    if progress:
        progress(f"checking: {len(ordered)} steps done", len(ordered), len(ordered))
    results = {
        name: available[name]
        for step in steps
        if not step.internal or step.name in keep
        for name in step.outputs
        if name in available and writer[name] is step
    }
    not_computed = {
        name: skipped[step.name]
        for step in steps
        if not step.internal and step.name in skipped and step.name not in ran
        for name in step.outputs
    }
    return CheckResults(results, ran, skipped, not_computed)
