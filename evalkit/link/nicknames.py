"""Common English given names and their nicknames, for linkage and for the synthetic errors.

A provider may record "Bill" where the police hold "William". Linking compares
a *name group*: every name below is put in one group with its nicknames, and
groups that share a nickname are merged (``Sam`` joins Samuel and Samantha;
sex is compared separately). The group's key is its alphabetically first
member, so the grouping never depends on dictionary order.
"""

from __future__ import annotations

from functools import lru_cache

#: Full name -> nicknames commonly recorded instead (lower case).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "al"), "alexandra": ("alex", "lexi"), "abigail": ("abbie", "abby"),
    "amanda": ("mandy",), "amelia": ("millie",), "andrew": ("andy", "drew"), "anthony": ("tony", "ant"),
    "benjamin": ("ben", "benji"), "callum": ("cal",), "caroline": ("carrie",), "catherine": ("cathy", "kate"),
    "charles": ("charlie", "chas"), "charlotte": ("charlie", "lottie"), "christine": ("chris",),
    "christopher": ("chris",), "daniel": ("dan", "danny"), "danielle": ("dani",), "david": ("dave", "davey"),
    "deborah": ("debbie", "debs"), "edward": ("ed", "eddie", "ted"), "eleanor": ("ellie", "nell"),
    "elizabeth": ("liz", "lizzie", "beth"), "emily": ("em", "emmy"), "frederick": ("fred", "freddie"),
    "gregory": ("greg",), "henry": ("harry", "hal"), "jacob": ("jake",), "jacqueline": ("jackie",),
    "james": ("jim", "jimmy", "jamie"), "jennifer": ("jen", "jenny"), "jessica": ("jess",), "joanne": ("jo",),
    "john": ("jack", "johnny"), "jonathan": ("jon", "jonny"), "joseph": ("joe", "joey"), "joshua": ("josh",),
    "katherine": ("kate", "katie", "kath"), "kenneth": ("ken", "kenny"), "kimberley": ("kim",),
    "margaret": ("maggie", "peggy", "meg"), "matthew": ("matt",), "michael": ("mike", "mick", "mikey"),
    "natalie": ("nat",), "nathan": ("nate",), "nicholas": ("nick", "nicky"), "nicola": ("nicky", "nikki"),
    "oliver": ("ollie",), "patricia": ("pat", "trish"), "patrick": ("pat", "paddy"), "peter": ("pete",),
    "rebecca": ("becky", "becca"), "richard": ("rich", "rick", "dick"), "robert": ("rob", "bob", "bobby"),
    "ronald": ("ron", "ronnie"), "samantha": ("sam", "sammy"), "samuel": ("sam", "sammy"),
    "stephanie": ("steph",), "stephen": ("steve",), "steven": ("steve",), "susan": ("sue", "suzy"),
    "thomas": ("tom", "tommy"), "timothy": ("tim",), "victoria": ("vicky", "tori"),
    "william": ("will", "bill", "billy", "liam"), "zachary": ("zach", "zak"),
    "mohammed": ("mohammad", "muhammad", "mohamed"), "abdullah": ("abdul",),
}


@lru_cache(maxsize=1)
def name_groups() -> dict[str, str]:
    """Lower-case name -> its group key (union of every name with its nicknames)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for full, nicks in NICKNAMES.items():
        for nick in nicks:
            a, b = find(full), find(nick)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the alphabetically first member leads: order-free
    return {name: find(name) for name in parent}


def name_group(name: str | None) -> str | None:
    """The group key of a lower-case given name (the name itself when it has no known nicknames)."""
    if name is None:
        return None
    return name_groups().get(name, name)


__all__ = ["NICKNAMES", "name_groups", "name_group"]
