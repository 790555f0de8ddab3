"""Loading a saved ``state_dict`` into a freshly built module."""


def load_module_state(module, state):
    """Load a saved ``state_dict`` into a freshly built module.

    Buffers whose size changes during training (e.g. the reference batch of
    the "mi" scrubber) are resized to the saved shape first.

    Parameters
    ----------
    module : torch.nn.Module
    state : dict of str -> Tensor
    """
    for name, buffer in list(module.named_buffers()):
        saved = state.get(name)
        if saved is not None and saved.shape != buffer.shape:
            owner_name, _, attribute = name.rpartition(".")
            owner = module.get_submodule(owner_name)
            setattr(owner, attribute, buffer.new_empty(saved.shape))
    module.load_state_dict(state, strict=True)
