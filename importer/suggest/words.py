"""The words suggest-mapping knows: header variants per lead field, and other CRMs' values; no logic
beyond looking them up."""

from __future__ import annotations

from importer.suggest.columns import ColumnProfile
from importer.syntax import compact

# Header variants per lead field, compacted (lower-case, letters and digits only), best first.
# The record id's own list is in suggest_id.ID_HEADERS.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "first", "givenname", "fname", "forename", "firstnm"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "lastnm"),
    "full_name": (
        "fullname", "name", "custname", "customername", "customer", "contactname", "leadname",
        "clientname", "homeownername", "homeowner", "ownername",
    ),
    "fullAddress": ("fulladdress", "completeaddress", "fulladdr"),
    "address": (
        "address", "street", "streetaddress", "address1", "addressline1", "street1",
        "streetaddress1", "addr", "addr1", "streetline1", "homeaddress", "propertyaddress",
        "serviceaddress", "mailingaddress", "line1",
    ),
    "city": ("city", "town", "locality", "cityname", "municipality", "citytown", "cty"),
    "state": (
        "state", "st", "stateregion", "region", "province", "stateprovince", "statecode",
        "stateabbr", "stateprovinceregion",
    ),
    "zip": (
        "zip", "zipcode", "postalcode", "postcode", "postal", "zippostalcode", "zip5",
        "zippostal", "postalzip",
    ),
    "email": ("email", "emailaddress", "emailaddr", "mail", "primaryemail", "contactemail"),
    "mobile": (
        "mobile", "mobilephone", "mobilephonenumber", "mobilenumber", "mobileno", "cell",
        "cellphone", "cellnumber", "cellphonenumber", "phone", "phonenumber", "phoneno", "ph",
        "primaryphone", "phone1", "tel", "telephone", "contactnumber", "homephone",
    ),
    "creator": ("creator", "createdby", "creatoremail"),
    "assign_to_email": (
        "assigntoemail", "repemail", "owneremail", "owner", "leadowner", "contactowner",
        "salesrep", "salesrepemail", "rep", "assignedto", "assignto", "assignedrep",
    ),
    "setter_email": ("setteremail", "setter", "appointmentsetter", "settername"),
    "lead_status": ("leadstatus", "status"),
    "lead_source": ("leadsource", "source", "utmsource", "sourcename"),
    "office_name": ("officename", "office", "branch", "territory", "salesoffice"),
    "add_note": ("addnote", "notes", "note", "comments", "comment", "remarks"),
    "createDeal": ("createdeal",),
    "calendar": ("calendar",),
    "calendar_id": ("calendarid",),
    "browser_redirect": ("browserredirect",),
    "ignore_validation": ("ignorevalidation",),
    "office_match": ("officematch",),
}  # fmt: skip
# A word inside a longer header ("Home Phone #", "Mailing Street") that names the field.
WORDS = {
    "phone": "mobile", "mobile": "mobile", "cell": "mobile", "telephone": "mobile",
    "email": "email", "zip": "zip", "postal": "zip", "postcode": "zip", "city": "city",
    "town": "city", "street": "address", "address": "address", "state": "state",
    "province": "state", "notes": "add_note", "comments": "add_note",
}  # fmt: skip
# Words whose typos are recognised in headers ("Frist Name", "Adress", "Phnoe", "Zpi").
TYPO_WORDS = frozenset({
    "first", "last", "name", "full", "given", "family", "surname", "customer", "contact",
    "address", "street", "city", "town", "state", "province", "region", "zip", "postal",
    "code", "email", "mail", "phone", "mobile", "cell", "telephone", "number", "notes",
    "comments", "owner", "setter", "source", "status", "office", "lead",
})  # fmt: skip
# The first word of an address block's headers: MailingStreet, Other City, Billing Zip.
FAMILY_WORDS = frozenset({
    "mailing", "other", "billing", "shipping", "home", "work", "business", "physical",
    "property", "service", "site", "install", "installation", "project", "primary",
    "secondary", "alternate", "alt", "residential", "legal", "previous", "current",
})  # fmt: skip
# Headers that hold a business's name (a lead's name when no person is named), best first.
BUSINESS_HEADERS = (
    "businessname", "companyname", "company", "business", "organizationname", "organization",
    "orgname", "accountname", "facilityname", "marketname", "storename", "placename",
    "practicename", "locationname", "dba", "legalname", "title",
)  # fmt: skip
# "Facility Name", "Hospital Name": a word like these, then "name".
BUSINESS_WORDS = frozenset({
    "business", "company", "organization", "org", "account", "facility", "market", "store",
    "shop", "place", "practice", "hospital", "clinic", "location", "firm", "agency", "venue",
    "restaurant", "school", "church", "dealer", "provider", "property",
})  # fmt: skip
APPOINTMENT_WORDS = frozenset({
    "appointment", "appointments", "appt", "apt", "consultation", "consult", "meeting",
    "booking", "booked", "visit",
})  # fmt: skip
PHOTO_WORDS = frozenset({"photo", "photos", "image", "images", "picture", "pictures", "pic", "img"})

# Values that only other CRMs' picklists use, compacted: a column holding them is that
# CRM's vocabulary, not Enerflo's. Words common to any list ("New", "Web", "Other") are
# left out: they prove nothing.
_FOREIGN_VALUES = {
    "lead_status": frozenset({
        # Salesforce's default lead statuses and opportunity stages
        "opennotcontacted", "workingcontacted", "closedconverted", "closednotconverted",
        "closedwon", "closedlost", "prospecting", "qualification", "needsanalysis",
        "valueproposition", "iddecisionmakers", "perceptionanalysis", "proposalpricequote",
        "negotiationreview",
        # HubSpot's lead statuses and lifecycle stages
        "inprogress", "opendeal", "unqualified", "attemptedtocontact", "connected", "badtiming",
        "subscriber", "marketingqualifiedlead", "salesqualifiedlead", "evangelist",
    }),
    "lead_source": frozenset({
        # Salesforce's default lead sources
        "phoneinquiry", "partnerreferral", "purchasedlist", "employeereferral",
        "externalreferral", "publicrelations", "seminarinternal", "seminarpartner", "tradeshow",
        # HubSpot's original sources
        "organicsearch", "paidsearch", "emailmarketing", "socialmedia", "referrals",
        "othercampaigns", "directtraffic", "offlinesources", "paidsocial", "aireferrals",
    }),
}  # fmt: skip
_WHAT = {
    "lead_status": "statuses",
    "lead_source": "lead sources",
    "office_name": "offices",
    "assign_to_email": "owners",
}


def foreign_values(field: str, profile: ColumnProfile) -> str | None:
    """Why the column's values are not Enerflo's for `field`, or None when nothing says so.

    Codes (every value digits, such as the IRS's status "01") and values from another CRM's
    picklists are foreign. Owner fields must hold email addresses.
    """
    what = _WHAT[field]
    if profile.filled and all(v.isdigit() for v in profile.distinct):
        return f"its values ({profile.examples()}) are codes, not {what}"
    known = _FOREIGN_VALUES.get(field, frozenset())
    hits = [v for v in profile.distinct if compact(v) in known]
    if hits:
        shown = ", ".join(hits[:2])
        return f"its values ({shown}) are another CRM's {what}; map them with map: if you want them"
    return None
