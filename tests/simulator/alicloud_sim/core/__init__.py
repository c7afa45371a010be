"""The neutral core: HTTP, signatures, errors, parameters, the clock, faults, the call log, the admin API,
the action/component/product registries and the Simulator that holds the components. It knows no product."""
