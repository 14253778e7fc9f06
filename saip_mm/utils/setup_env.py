"""Environment set-up: register every saip_mm module and (optionally) make ``saip_mm`` the scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every saip_mm module so that it is registered, and apply the compatibility shims.

    Args:
        init_default_scope (bool): Whether to make ``saip_mm`` the current default scope. If another
            scope is current, a new ``saip_mm`` scope instance is created and made current.
    """
    import saip_mm.compat  # noqa: F401  (applies the shims on import)
    import saip_mm.datasets  # noqa: F401
    import saip_mm.engine  # noqa: F401
    import saip_mm.evaluation  # noqa: F401
    import saip_mm.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    never_created = current is None or not DefaultScope.check_instance_created('saip_mm')
    if never_created:
        DefaultScope.get_instance('saip_mm', scope_name='saip_mm')
        return
    if current.scope_name != 'saip_mm':
        warnings.warn('The current default scope "{}" is not "saip_mm"; `register_all_modules` will '
                      'force the current default scope to be "saip_mm".'.format(current.scope_name))
        new_name = f'saip_mm-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_name, scope_name='saip_mm')
