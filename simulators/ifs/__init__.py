"""A faithful IFS Cloud simulator: IAM, OData projections, ETags, bound actions, seed data, captured rows."""
