console.log("staff");
