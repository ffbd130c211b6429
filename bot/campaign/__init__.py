"""What organizers write: campaign YAML read safely, validated, and rendered into messages."""
