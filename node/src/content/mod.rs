//! Content in and out of the store: importing files and trees (`import`, `import_tar`), and
//! reading roots this node lacks from the network (`fetching`).

pub mod fetching;
pub mod import;
pub mod import_tar;
