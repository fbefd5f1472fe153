"""Brazilian data rules: CPF, phone numbers and area codes, money and date formats."""
