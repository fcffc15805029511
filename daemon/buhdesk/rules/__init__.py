"""The administrators' rule files: loading, validation, classification and routing decisions."""
