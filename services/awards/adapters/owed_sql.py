"""The SQL of "owed payouts matching a filter", shared by the reads and the locking approval."""

from services.awards.domain.owed_filter import OwedFilter
from shared.divisions import prefixes_of

OWED = "p.status = 'issued' AND d.state IS NULL"
OWED_FROM = (
    "FROM payouts p LEFT JOIN disbursements d USING (payout_id) LEFT JOIN enterprises e ON e.uscc = p.enterprise_uscc"
)


def owed_where(f: OwedFilter, first: int = 1) -> tuple[str, list[object]]:
    """The condition for owed payouts matching `f`, its placeholders numbered from $first."""
    clauses, args = [OWED], list[object]()

    def arg(value: object) -> str:
        args.append(value)
        return f"${first + len(args) - 1}"

    if f.rule is not None:
        clauses.append(f"p.rule = {arg(f.rule.value)}")
    if f.recipient_role is not None:
        clauses.append(f"p.recipient_role = {arg(f.recipient_role.value)}")
    if f.prefecture is not None:
        prefixes = prefixes_of(f.prefecture)
        column = "e.division_code" if f.prefecture.startswith("6590") else "left(e.division_code, 4)"
        clauses.append(f"{column} = ANY({arg(list(prefixes))}::text[])")
    if f.basis_month is not None:
        clauses.append(f"to_char(p.basis_date, 'YYYY-MM') = {arg(f.basis_month)}")
    if f.min_amount_cny is not None:
        clauses.append(f"p.amount_cny >= {arg(f.min_amount_cny)}")
    if f.max_amount_cny is not None:
        clauses.append(f"p.amount_cny <= {arg(f.max_amount_cny)}")
    if f.text is not None:
        t = arg(f.text)  # literally (strpos): no pattern characters
        clauses.append(
            f"(strpos(lower(coalesce(e.name, '')), lower({t})) > 0 OR strpos(lower(p.recipient_name), lower({t})) > 0 "
            f"OR strpos(p.enterprise_uscc, upper({t})) > 0 OR strpos(p.recipient_uscc, upper({t})) > 0)"
        )
    return " AND ".join(clauses), args
