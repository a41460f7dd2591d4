// The database MiMei that counts visits (replace with yours: leither mimei create --db).
var VISITS_DB = "";
