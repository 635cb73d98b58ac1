"""ONE Record XML: the casslink RDF/XML profile, its XSDs, a streaming reader, a writer,
JSON-LD export, and the Cargo-XML XFWB adapter."""
