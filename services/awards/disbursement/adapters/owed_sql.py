"""The SQL of "owed payouts matching a filter", shared by the reads and the locking approval."""

from services.awards.disbursement.domain.owed_filter import OwedFilter
from shared.contract.divisions import prefixes_of

TRIGRAM = 3  # characters: a shorter search has none for the trigram indexes to look up
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
        # Part of a name (either case) or of a code (upper case), taken literally. The
        # candidates come from the payouts' trigram indexes (migrations 0011, 0017, 0018) before
        # anything is joined or ordered; the enterprise's name brings its operators' payouts too.
        if len(f.text) < TRIGRAM:
            # No trigram to look up: an index would hand back every payout to recheck, so
            # the owed payouts are read once and each is tested as it is read.
            name, code = arg(f.text.lower()), arg(f.text.upper())
            clauses.append(
                f"(strpos(lower(p.enterprise_name), {name}) > 0 OR strpos(lower(p.recipient_name), {name}) > 0 "
                f"OR strpos(p.enterprise_uscc, {code}) > 0 OR strpos(p.recipient_uscc, {code}) > 0)"
            )
        else:
            name, code = arg(contains(f.text.lower())), arg(contains(f.text.upper()))
            clauses.append(
                "p.payout_id IN ("
                f"SELECT x.payout_id FROM payouts x WHERE lower(x.enterprise_name) LIKE {name} "
                f"OR lower(x.recipient_name) LIKE {name} OR upper(x.enterprise_uscc) LIKE {code} "
                f"OR upper(x.recipient_uscc) LIKE {code})"
            )
    return " AND ".join(clauses), args


def contains(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its own % _ and \\ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
