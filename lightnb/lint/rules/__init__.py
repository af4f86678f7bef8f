"""The lint rules, one module per family; every module here is a family and is loaded by discovery.

A family's module registers its rules with :func:`lightnb.lint.registry.rule`; the rule's family
is the module's name. To add a family, add a module to this package: nothing else lists them
(:func:`lightnb.lint.engine.load_rules` imports every module it finds here).
"""
