"""A tiny reverse-mode autograd on scalars (in the style of micrograd), independent of nnapp and numpy:
each Value remembers its inputs and how to pass a gradient back to them; `backward` walks the graph in
reverse topological order. Tests recompute the network's loss and gradients with it."""

from __future__ import annotations

import math
from collections.abc import Callable


class Value:
    def __init__(self, data: float, parents: tuple[Value, ...] = ()) -> None:
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._backward: Callable[[], None] = lambda: None

    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other))

        def backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other))

        def backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    __radd__ = __add__
    __rmul__ = __mul__

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,))

        def backward() -> None:
            self.grad += out.data * out.grad

        out._backward = backward
        return out

    def log(self) -> Value:
        out = Value(math.log(self.data), (self,))

        def backward() -> None:
            self.grad += out.grad / self.data

        out._backward = backward
        return out

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,))

        def backward() -> None:
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad  # ReLU'(0) taken as 0

        out._backward = backward
        return out

    def backward(self) -> None:
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative post-order: deep graphs do not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._parents)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def total(values: list[Value]) -> Value:
    result = values[0]
    for value in values[1:]:
        result = result + value
    return result
