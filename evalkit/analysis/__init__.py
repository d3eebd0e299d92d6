"""The protocol runner: from a protocol and the store's tables to aggregate results.

Renders nothing. :mod:`.runner` runs a protocol (``analyse_intervention``),
:mod:`.data` selects the people and tables, :mod:`.designs` calls each design,
:mod:`.results` holds the immutable results, :mod:`.standardise` and
:mod:`.commissioning` turn them into a primary finding and a category.
"""
