"""One module per framework, each giving ``backward(problem)`` and ``step(problem)`` Impls.

``numpy_hand`` is the reference: seed 001's δ equations written by hand.  Peers that need
their own process (PyTorch, JAX, HIPS autograd) go here too, with the same two functions.
"""
