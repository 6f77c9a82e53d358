"""The contractor portal's back end: documents uploaded by a contractor (or by an officer on its
behalf), checked before anything is stored, archived like fetched evidence, reviewed by an officer."""
